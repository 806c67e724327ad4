from afo_workflow_executor.app import build

build().run()
