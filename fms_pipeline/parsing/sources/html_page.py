"""placeholder"""
from fms_pipeline.parsing.sources.model import SourceFormat
FORMAT = SourceFormat("html", streaming=False)
def sniff(extension, head): return False
def read(open_binary, source_file): raise NotImplementedError
