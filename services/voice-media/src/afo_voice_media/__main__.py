import os

# Before anything imports loguru (pipecat does): its default sink would write pipecat's lines to stderr in its own
# format; afo_voice_media.pipecat_logs sends them through the standard logging instead.
os.environ.setdefault("LOGURU_AUTOINIT", "false")

from afo_common.workers import serve
from afo_voice_media.app import MIGRATIONS, SERVICE, build
from afo_voice_media.settings import VoiceMediaSettings

settings = VoiceMediaSettings.of(None, SERVICE)
serve(build, settings, MIGRATIONS, settings.voice_media_workers)
