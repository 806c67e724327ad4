from afo_knowledge_ingest.app import build

build().run()
