from afo_agent_runtime.app import build

build().run()
