from afo_common.workers import serve
from afo_voice_media.app import MIGRATIONS, SERVICE, build
from afo_voice_media.settings import VoiceMediaSettings

settings = VoiceMediaSettings.of(None, SERVICE)
serve(build, settings, MIGRATIONS, settings.voice_media_workers)
