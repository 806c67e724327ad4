from afo_gateway.app import build

build().run()
