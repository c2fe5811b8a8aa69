"""The audio length a RIFF/WAVE header declares, to catch WAV files cut short.

libsndfile reads a WAV file whose ``data`` chunk is shorter than its header says (a copy or download cut
off, a disk that filled up) without an error: it returns the frames that are there. FLAC and Ogg carry
checksums and fail loudly, WAV does not, so the loader compares the frames read with the header's
``data`` chunk size divided by the ``fmt`` chunk's block align (bytes per frame). Layout: "RIFF", size,
"WAVE", then chunks of (4-byte id, little-endian uint32 size, data padded to an even length); see the
Microsoft RIFF/WAVE specification (Multimedia Programming Interface and Data Specifications 1.0, 1991).
"""

from __future__ import annotations

import struct
from pathlib import Path

# Writers that stream to a pipe cannot seek back to fill in the sizes: they leave 0 or a maximum there.
_UNKNOWN_SIZES = {0, 0xFFFFFFFF, 0x7FFFFFFF, 0x7FFFF000}


def declared_wav_frames(path: str | Path) -> int | None:
    """Frames the header of a RIFF/WAVE file declares, or None (not RIFF/WAVE, or a streamed unknown size)."""
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
                return None
            block_align = None
            while True:
                chunk = f.read(8)
                if len(chunk) < 8:
                    return None
                cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
                if cid == b"fmt ":
                    fmt = f.read(min(size, 16))
                    if len(fmt) < 14:
                        return None
                    block_align = struct.unpack("<H", fmt[12:14])[0]
                    f.seek(size - len(fmt) + (size & 1), 1)
                elif cid == b"data":
                    if block_align is None or block_align == 0 or size in _UNKNOWN_SIZES:
                        return None
                    return size // block_align
                else:
                    f.seek(size + (size & 1), 1)
    except OSError:
        return None
