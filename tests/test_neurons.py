"""Neuron extraction and masking on tiny random models of every scorer family, and the neuron
and indicator rules end to end on the tiny workflow config."""

from __future__ import annotations

import pandas as pd
import pytest
import torch
from conftest import BACKBONE, TASKS, copy_workdir, jobs, overlay, sentiment_task, snakemake

from prompt_transfer import neurons
from prompt_transfer.families import FAMILIES
from prompt_transfer.io import load_tensors, read_json
from prompt_transfer.prompts import save_prompt
from prompt_transfer.runtime import setup_runtime
from prompt_transfer.session import make_scorer

FP32 = setup_runtime(threads=2, precision="fp32")


def scorer_for(tiny_backbones, family):
    model, tokenizer = tiny_backbones[family]
    return make_scorer(family, model, tokenizer, sentiment_task(), 32)


def prompt_for(scorer, seed=0):
    return scorer.init_prompt(3, "normal", torch.Generator().manual_seed(seed), std=1.0)


@pytest.mark.parametrize(
    "family, names",
    [
        ("embedding", ["encoder.layer.0.output.dense", "encoder.layer.1.output.dense"]),
        ("mlm", ["bert.encoder.layer.0.output.dense", "bert.encoder.layer.1.output.dense"]),
        ("causal", ["model.layers.0.mlp.down_proj", "model.layers.1.mlp.down_proj"]),
        ("seq2seq", ["decoder.block.0.layer.2.DenseReluDense.wo", "decoder.block.1.layer.2.DenseReluDense.wo"]),
    ],
)
def test_the_second_feed_forward_linear_of_every_layer_is_found(tiny_backbones, family, names):
    assert [name for name, _ in neurons.ffn_modules(tiny_backbones[family][0])] == names


def test_a_model_without_known_feed_forward_blocks_is_refused():
    with pytest.raises(ValueError, match="no feed-forward blocks"):
        neurons.ffn_modules(torch.nn.Sequential(torch.nn.Linear(2, 2)))


def first_half_outputs(model, family):
    """Hooks that compute each layer's intermediate activations from the block's input with its
    own first linear layer(s) and activation: an independent route to what ffn_modules reads."""
    captured, handles = {}, []
    if family in ("embedding", "mlm"):
        for i, layer in enumerate(model.base_model.encoder.layer):
            handles.append(
                layer.intermediate.register_forward_hook(lambda m, a, out, i=i: captured.__setitem__(i, out))
            )
    elif family == "causal":
        for i, layer in enumerate(model.model.layers):
            mlp = layer.mlp
            handles.append(
                mlp.register_forward_pre_hook(
                    lambda m, a, i=i: captured.__setitem__(i, m.act_fn(m.gate_proj(a[0])) * m.up_proj(a[0]))
                )
            )
    else:
        for i, block in enumerate(model.decoder.block):
            dense = block.layer[2].DenseReluDense
            handles.append(
                dense.register_forward_pre_hook(lambda m, a, i=i: captured.__setitem__(i, m.act(m.wi(a[0]))))
            )
    return captured, handles


@pytest.mark.parametrize("family", FAMILIES)
def test_activations_are_read_where_the_scorer_reads_its_answer(tiny_backbones, family, sst2_rows):
    scorer = scorer_for(tiny_backbones, family)
    items = scorer.encode(sst2_rows[:6])
    prompt = prompt_for(scorer)
    got = neurons.prompt_activations(scorer, prompt, items, batch_size=6, runtime=FP32)

    batch = scorer.collate(items)
    captured, handles = first_half_outputs(scorer.model, family)
    with torch.no_grad():
        scorer.logits(prompt, batch)
    for handle in handles:
        handle.remove()
    length, rows = prompt.shape[0], torch.arange(len(batch))
    expected = []
    for layer in range(len(captured)):
        acts = captured[layer]
        if family == "seq2seq":
            read = acts[:, 0]  # first decoding step
        elif family == "embedding":
            mask = batch.mask.unsqueeze(-1).float()  # the input tokens, no prompt slots, no padding
            read = (acts[:, length:] * mask).sum(1) / mask.sum(1)
        else:  # mlm: the mask token; causal: the last real token
            read = acts[rows, length + batch.read_index]
        expected.append(read.mean(0))
    torch.testing.assert_close(got, torch.stack(expected))
    assert got.shape == (2, 64)


@pytest.mark.parametrize("family", FAMILIES)
def test_batched_padded_inputs_give_the_mean_of_single_inputs(tiny_backbones, family, sst2_rows):
    scorer = scorer_for(tiny_backbones, family)
    items = scorer.encode(sst2_rows[:5])
    assert len({len(x.ids) for x in items}) > 1  # padding is really exercised
    prompt = prompt_for(scorer)
    batched = neurons.prompt_activations(scorer, prompt, items, batch_size=4, runtime=FP32)
    single = torch.stack([neurons.prompt_activations(scorer, prompt, [x], 1, FP32) for x in items]).mean(0)
    torch.testing.assert_close(batched, single, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(
    "family, expected",
    [("embedding", ["[CLS]"]), ("mlm", ["[MASK]", "[CLS]"]), ("causal", ["<s>"]), ("seq2seq", ["</s>"])],
)
def test_the_stimulus_is_one_special_token_after_the_prompt(tiny_backbones, family, expected):
    scorer = scorer_for(tiny_backbones, family)
    item = neurons.stimulus(scorer)
    assert scorer.tokenizer.convert_ids_to_tokens(item.ids) == expected and item.read_index == 0
    a = neurons.prompt_activations(scorer, prompt_for(scorer, 0), [item], 1, FP32)
    b = neurons.prompt_activations(scorer, prompt_for(scorer, 1), [item], 1, FP32)
    assert not torch.allclose(a, b)  # the read-out sees the prompt


def test_top_and_random_neurons():
    activations = torch.tensor([[0.1, 5.0, -1.0, 0.3, 0.0], [2.0, -3.0, 0.2, 4.0, 0.05]])
    assert sorted(neurons.top_neurons(activations, 0.2).tolist()) == [1, 8]  # 5.0 and 4.0, layers pooled
    assert len(neurons.top_neurons(activations, 0.25)) == 2  # round(2.5) = 2
    draw = neurons.random_neurons(activations, 3, torch.Generator().manual_seed(7))
    assert len(set(draw.tolist())) == 3 and all(0 <= i < 10 for i in draw)
    assert torch.equal(draw, neurons.random_neurons(activations, 3, torch.Generator().manual_seed(7)))
    keep = neurons.keep_mask(activations.shape, torch.tensor([1, 8]))
    assert keep.tolist() == [[1, 0, 1, 1, 1], [1, 1, 1, 0, 1]]


@pytest.mark.parametrize("family", FAMILIES)
def test_masking_zeroes_exactly_the_chosen_neurons_while_active(tiny_backbones, family, sst2_rows):
    scorer = scorer_for(tiny_backbones, family)
    items = scorer.encode(sst2_rows[:4])
    prompt = prompt_for(scorer)
    before = neurons.prompt_activations(scorer, prompt, items, 4, FP32)
    chosen = neurons.top_neurons(before, 0.2)
    keep = neurons.keep_mask(before.shape, chosen)
    with neurons.masked_neurons(scorer.model, keep):
        during = neurons.prompt_activations(scorer, prompt, items, 4, FP32)
        masked_logits = scorer.logits(prompt, scorer.collate(items))
    assert (during.flatten()[chosen] == 0).all()
    # the first layer's other neurons are untouched; later layers see the change
    torch.testing.assert_close(during[0][keep[0] > 0], before[0][keep[0] > 0])
    assert not torch.allclose(masked_logits, scorer.logits(prompt, scorer.collate(items)))
    torch.testing.assert_close(neurons.prompt_activations(scorer, prompt, items, 4, FP32), before)  # hooks removed


# --- the rules end to end on the tiny config ------------------------------------------------------

TARGETS = [
    "results/indicators.pdf",
    f"results/neurons/{BACKBONE}/masking.csv",
    "results/indicators/external/released/indicators.csv",
]
NEURON_JOBS = {("extract_neurons", f"backbone={BACKBONE}, seed=0, task={t}") for t in TASKS}
MASK_JOBS = {("mask_neurons", f"backbone={BACKBONE}, seed=0, task={t}") for t in TASKS} | {
    ("masking_table", f"backbone={BACKBONE}")
}
INDICATOR_JOBS = {
    ("indicators", f"backbone={BACKBONE}, seed=0"),
    ("indicator_correlation", f"backbone={BACKBONE}"),
    ("indicator_figure", ""),
}


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> dict:
    """A prompt set from elsewhere: two flattened torch files and a safetensors file."""
    folder = tmp_path_factory.mktemp("released")
    g = torch.Generator().manual_seed(0)
    torch.save(torch.randn(1, 5 * 32, generator=g), folder / "sst2.pt")
    torch.save(torch.randn(1, 5 * 32, generator=g), folder / "mnli.pt")
    save_prompt(folder / "other.safetensors", torch.randn(5, 32, generator=g), {})
    prompts = {
        name: {"path": str(folder / f)}
        for name, f in [("sst2", "sst2.pt"), ("mnli", "mnli.pt"), ("other", "other.safetensors")]
    }
    return {"indicators": {"external_prompts": {"released": {"hidden_size": 32, "skip_rows": 1, "prompts": prompts}}}}


@pytest.fixture(scope="module")
def neuron_study(study, tmp_path_factory, task_data, released) -> tuple:
    """The tiny study (a copy of the shared one, `study` in conftest.py) run on to the neuron and
    indicator targets."""
    workdir = tmp_path_factory.mktemp("indicators") / "study"
    copy_workdir(study, workdir)
    settings = overlay(workdir, "indicators.yaml", {**released, "neurons": {"masking": {"random_draws": 2}}})
    snakemake(workdir, *TARGETS, configfiles=[settings], data_dir=task_data)
    return workdir, settings


@pytest.mark.workflow
def test_the_rules_write_neurons_indicators_correlations_and_figure(neuron_study):
    workdir, _ = neuron_study
    activations, meta = load_tensors(workdir / f"results/neurons/{BACKBONE}/seed0/sst2.safetensors")
    assert activations["activations"].shape == (2, 64)  # tiny-embedding: 2 layers, 64 intermediate
    assert meta["stimulus"] == "prompt + one special token" and meta["modules"][0] == "encoder.layer.0.output.dense"

    table = pd.read_csv(workdir / f"results/indicators/{BACKBONE}/seed0/indicators.csv")
    assert len(table) == len(TASKS) ** 2 and set(table.backbone) == {BACKBONE}
    assert {"same_type", "euclidean_flat", "cosine_tokens", "mean_prompt_cosine", "on_layers_1-2", "on_all"} <= set(
        table.columns
    )
    diagonal = table[table.source == table.target]
    assert diagonal.cosine_flat.tolist() == pytest.approx([1.0] * len(TASKS)) and (diagonal.on_all == 1).all()

    spearman = pd.read_csv(workdir / f"results/indicators/{BACKBONE}/spearman.csv")
    assert (
        len(spearman) == (len(table.columns) - 4) * 2 * 2
    )  # indicators (not backbone, seed, source, target) x outcomes x aggregations
    assert set(spearman.outcome) == {"accuracy", "relative"} and set(spearman.reference) == {"on_all"}
    pooled = spearman[spearman.aggregation == "pooled"]
    assert (pooled.n == len(TASKS) * (len(TASKS) - 1)).all()
    retrieval = pd.read_csv(workdir / f"results/indicators/{BACKBONE}/retrieval.csv")
    overall = retrieval[retrieval.target == "all"]
    assert set(overall.indicator) == set(spearman.indicator) | {"random"}
    assert ((overall.top1 >= 0) & (overall.top1 <= 1) & (overall.regret >= 0)).all()
    assert (workdir / "results/indicators.pdf").read_bytes()[:5] == b"%PDF-"

    masking = pd.read_csv(workdir / f"results/neurons/{BACKBONE}/masking.csv")
    assert sorted(masking.task) == sorted(TASKS)
    assert (masking.masked_neurons == round(0.2 * 128)).all() and (masking.total_neurons == 128).all()
    own = read_json(workdir / f"results/transfer/{BACKBONE}/seed0/sst2__sst2.json")["accuracy"]
    assert masking.set_index("task").loc["sst2", "unmasked"] == own
    assert len(read_json(workdir / f"results/neurons/{BACKBONE}/seed0/masking/sst2.json")["random_masked_draws"]) == 2

    external = pd.read_csv(workdir / "results/indicators/external/released/indicators.csv")
    assert len(external) == 9 and "on_all" not in external.columns
    row = external.set_index(["source", "target"])
    assert row.loc[("sst2", "other"), "cosine_flat"] == pytest.approx(row.loc[("other", "sst2"), "cosine_flat"])
    assert row.loc[("sst2", "mnli"), "same_type"] == 0.0  # types from the task registry
    assert pd.isna(row.loc[("sst2", "other"), "same_type"])


@pytest.mark.workflow
def test_a_second_run_does_nothing(neuron_study, task_data):
    workdir, settings = neuron_study
    assert "Nothing to be done" in snakemake(workdir, "-n", *TARGETS, configfiles=[settings], data_dir=task_data).stdout


@pytest.mark.workflow
def test_changing_the_stimulus_reruns_extraction_and_everything_after_it(neuron_study, task_data):
    workdir, settings = neuron_study
    change = overlay(workdir, "inputs.yaml", {"neurons": {"inputs": 8}})
    planned = jobs(snakemake(workdir, "-n", *TARGETS, configfiles=[settings, change], data_dir=task_data).stdout)
    assert planned == NEURON_JOBS | MASK_JOBS | INDICATOR_JOBS


@pytest.mark.workflow
def test_changing_the_bootstrap_reruns_only_the_correlation_and_figure(neuron_study, task_data):
    workdir, settings = neuron_study
    change = overlay(workdir, "bootstrap.yaml", {"indicators": {"bootstrap": 50}})
    planned = jobs(snakemake(workdir, "-n", *TARGETS, configfiles=[settings, change], data_dir=task_data).stdout)
    assert planned == {("indicator_correlation", f"backbone={BACKBONE}"), ("indicator_figure", "")}


@pytest.mark.workflow
def test_the_masking_fraction_reruns_only_masking(neuron_study, task_data):
    workdir, settings = neuron_study
    change = overlay(workdir, "fraction.yaml", {"neurons": {"masking": {"fraction": 0.5}}})
    planned = jobs(snakemake(workdir, "-n", *TARGETS, configfiles=[settings, change], data_dir=task_data).stdout)
    assert planned == MASK_JOBS


@pytest.mark.workflow
def test_the_speedup_table_joins_source_retrieval(neuron_study, task_data, tmp_path):
    copy = tmp_path / "study"  # really runs TPT; the other tests keep the original study
    workdir, settings = neuron_study
    copy_workdir(workdir, copy)
    pairs = [{"source": "sst2", "target": "mnli"}, {"source": "laptop", "target": "mnli"}]  # two candidates
    change = overlay(copy, "speedup.yaml", {"indicators": {"speedup": True}, "tpt": {"pairs": pairs}})
    snakemake(copy, f"results/indicators/{BACKBONE}/retrieval.csv", configfiles=[settings, change], data_dir=task_data)
    speedup = pd.read_csv(copy / f"results/tpt/{BACKBONE}/speedup.csv")
    spearman = pd.read_csv(copy / f"results/indicators/{BACKBONE}/spearman.csv")
    retrieval = pd.read_csv(copy / f"results/indicators/{BACKBONE}/retrieval.csv")
    assert set(spearman.outcome) == set(retrieval.outcome) == {"accuracy", "relative", "speedup"}
    chosen = retrieval[(retrieval.outcome == "speedup") & (retrieval.target != "all")]
    assert set(chosen.target) == set(speedup.target) == {"mnli"}
    assert chosen.candidates.tolist() == [2] * len(chosen)


@pytest.mark.workflow
@pytest.mark.parametrize(
    "config, message",
    [
        ({"indicators": {"reference": "on_everything"}}, "indicators.reference"),
        ({"neurons": {"masking": {"fraction": 1.5}}}, "neurons.masking.fraction: 1.5 is greater than the maximum of 1"),
        (
            {"indicators": {"external_prompts": {"x": {"prompts": {"a": {"file": "a.pt"}}}}}},
            "indicators.external_prompts.x",
        ),
    ],
)
def test_a_bad_neuron_or_indicator_setting_is_named(tmp_path, task_data, config, message):
    result = snakemake(
        tmp_path, "-n", configfiles=[overlay(tmp_path, "bad.yaml", config)], data_dir=task_data, check=False
    )
    assert result.returncode != 0 and message in result.stderr
