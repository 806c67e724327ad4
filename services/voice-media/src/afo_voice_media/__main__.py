from afo_voice_media.app import build

build().run()
