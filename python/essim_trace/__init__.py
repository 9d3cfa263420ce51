"""essim_trace - the PyTorch front end of ESSIM: record your own network and training loop as
an ESSIM layer-op trace (docs/trace-format.md), so `essim simulate --trace` prices it in time,
energy, wear and lifetime on any chip with the same crossbar geometry.

    fmt       the trace format 2.0: TraceWriter, read_trace, read_header (NumPy only)
    mapping   ESSIM's crossbar mapping rules: Geometry, block_index (NumPy only)
    essim     asks the essim program for the configuration and the op template
    policy    ESSIM's write policies in NumPy (sgd, threshold, ssgp, essence, ...)
    export    torch.nn.Module -> ESSIM network description (needs PyTorch)
    recorder  Recorder for a PyTorch training loop (needs PyTorch)

PyTorch is imported only by export and recorder: `from essim_trace.recorder import Recorder`.
"""
from .fmt import Header, Layer, Op, TraceError, TraceWriter, read_header, read_trace
from .mapping import Geometry, block_index, block_weights

__version__ = "0.1.0"
