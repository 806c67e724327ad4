from afo_notifier.app import build

build().run()
