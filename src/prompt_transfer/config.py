"""Configuration: JSON-schema validation with defaults, cross-checks, and the typed study.

The workflow and the tests both go through `load_config`, so a bad config fails the same way
everywhere: before any job runs, with the offending key named. `load_study` types the result
once (study.py) for the planning layer and runs the stages' checks on it.
"""

from __future__ import annotations

import copy
from functools import lru_cache
from importlib import resources

import jsonschema
import yaml
from .errors import ConfigError
from .families import FAMILIES, GENERATIVE_FAMILIES
from .study import Study


def _strip_defaults(schema: dict) -> dict:
    schema = copy.deepcopy(schema)
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)
    return schema


@lru_cache(maxsize=1)
def schema() -> dict:
    text = resources.files("prompt_transfer").joinpath("schemas/config.schema.yaml").read_text()
    doc = yaml.safe_load(text)
    defs = doc["$defs"]
    defs["data_overrides"] = _strip_defaults(defs["data_settings"])
    defs["training_overrides"] = _strip_defaults(defs["training_settings"])
    # The per-family keys come from the one list of scorer families.
    task = defs["task"]["properties"]
    task["templates"]["properties"] |= {family: {"type": "string"} for family in FAMILIES}
    task["label_words"]["properties"] = {family: {"$ref": "#/$defs/label_words"} for family in FAMILIES}
    defs["backbone"]["properties"]["scorer"]["enum"] = list(FAMILIES)
    return doc


def _validator_with_defaults():
    """A Draft 2020-12 validator that also fills in `default` values (jsonschema FAQ recipe)."""
    base = jsonschema.Draft202012Validator
    validate_properties = base.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema_):
        if isinstance(instance, dict):
            for name, sub in properties.items():
                if "default" in sub and name not in instance:
                    instance[name] = copy.deepcopy(sub["default"])
        yield from validate_properties(validator, properties, instance, schema_)

    return jsonschema.validators.extend(base, {"properties": set_defaults})


def _key_path(error: jsonschema.ValidationError) -> str:
    return ".".join(str(p) for p in error.absolute_path) or "(top level)"


def _name_error(error: jsonschema.ValidationError) -> jsonschema.ValidationError | None:
    """The name-rule failure behind `error`, also one buried in a oneOf/anyOf's alternatives."""
    if error.validator == "pattern" and error.validator_value == schema()["$defs"]["name"]["pattern"]:
        return error
    return next(filter(None, map(_name_error, error.context or [])), None)


def _describe(error: jsonschema.ValidationError) -> tuple[str, str]:
    """(key path, message): names breaking the name rule are named with the rule."""
    named = _name_error(error)
    if named is not None:
        rule = " ".join(schema()["$defs"]["name"]["description"].split())
        return _key_path(named), f"{named.instance!r} is not a valid name: {rule}"
    return _key_path(error), _message(error)


def _allows_strings(schema_: dict) -> bool:
    return schema_.get("type") == "string" or any(map(_allows_strings, schema_.get("anyOf", [])))


def _message(error: jsonschema.ValidationError) -> str:
    """The validator's message, except for unknown keys, which are named with the allowed ones,
    and YAML's booleans where a word is wanted."""
    if isinstance(error.instance, bool) and _allows_strings(error.schema):
        word = "yes" if error.instance else "no"
        return (
            f"{error.instance} is a YAML boolean, not a word: YAML reads bare yes/no, true/false and on/off "
            f'as booleans; quote a word ("{word}")'
        )
    if error.validator == "additionalProperties" and error.validator_value is False:
        import re

        allowed = error.schema.get("properties", {})
        patterns = error.schema.get("patternProperties", {})
        unknown = [k for k in error.instance if k not in allowed and not any(re.search(p, k) for p in patterns)]
        return f"unknown key {', '.join(map(repr, unknown))} (allowed: {', '.join(allowed)})"
    return error.message


def read_yaml_file(path) -> object:
    """A YAML file (a leading byte-order mark is skipped); ConfigError names file, line and column."""
    with open(path, encoding="utf-8-sig") as f:
        try:
            return yaml.safe_load(f)
        except yaml.YAMLError as e:
            mark = getattr(e, "problem_mark", None)
            where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
            raise ConfigError(f"{where}: not valid YAML ({getattr(e, 'problem', None) or e})") from None


def load_config(raw: dict) -> dict:
    """Validate `raw` (not modified), fill defaults and cross-check references.

    Raises ConfigError naming the offending key.
    """
    config = copy.deepcopy(dict(raw))
    validator = _validator_with_defaults()(schema())
    _type_command_line_strings(config, validator)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(e.absolute_path))
    if errors:
        lines = ["  {}: {}".format(*_describe(e)) for e in errors[:10]]
        raise ConfigError("invalid configuration:\n" + "\n".join(lines))
    for name, task in config["tasks"].items():
        # Not a schema default: it follows the hub source when one is given.
        task.setdefault("pair", task.get("hub", {}).get("text_b") is not None)
        if "generation" in task:  # no classes: the classification code sees empty ones
            for key in ("labels", "label_words"):
                if key in task:
                    raise ConfigError(f"tasks.{name}.{key}: a generation task has no {key} (it writes text)")
            task.update(labels=[], label_words={})
    _cross_check(config)
    return config


def _type_command_line_strings(config: dict, validator) -> None:
    """Snakemake reads the values inside `--config key={...}` as strings ('study={"seeds": [0, 1]}'
    gives seeds ['0', '1']): a string where the schema wants another type is read as the YAML
    scalar it spells (0, 1.5, true, null) when that value fits the schema there."""
    for _ in range(1000):  # one value per pass: setting one changes the errors of the others
        for error in validator.iter_errors(config):
            if not (isinstance(error.instance, str) and error.absolute_path):
                continue
            try:
                value = yaml.safe_load(error.instance)
            except yaml.YAMLError:
                continue
            if isinstance(value, (int, float, bool, type(None))) and not any(validator.descend(value, error.schema)):
                *parents, key = error.absolute_path
                container = config
                for part in parents:
                    container = container[part]
                container[key] = value
                break
        else:
            return


def _cross_check(config: dict) -> None:
    tasks, backbones = config["tasks"], config["backbones"]
    problems = []
    for name in config["study"]["tasks"]:
        if name not in tasks:
            problems.append(f"study.tasks: unknown task {name!r} (known: {', '.join(sorted(tasks))})")
    for name in config["study"]["backbones"]:
        if name not in backbones:
            problems.append(f"study.backbones: unknown backbone {name!r} (known: {', '.join(sorted(backbones))})")
    for name, entry in backbones.items():
        if entry.get("revision") and "hub" not in entry["source"]:
            problems.append(f"backbones.{name}.revision: only a hub source has revisions")
    families = {backbones[b]["scorer"] for b in config["study"]["backbones"] if b in backbones}
    for name in config["study"]["tasks"]:
        task = tasks.get(name)
        if task is None:
            continue
        if "generation" in task:
            problems += _generation_problems(config, name)
        for family in sorted(families) if "generation" not in task else ():
            words = task["label_words"].get(family)
            if words is None:
                problems.append(f"tasks.{name}.label_words: no {family!r} words, needed by the study's backbones")
            elif family == "embedding" and any(
                isinstance(w, int) for e in words for w in (e if isinstance(e, list) else [e])
            ):
                problems.append(f"tasks.{name}.label_words.embedding: token ids are for mlm, seq2seq and causal words")
            elif len(words) != len(task["labels"]):
                problems.append(
                    f"tasks.{name}.label_words.{family}: {len(words)} entries for {len(task['labels'])} labels"
                )
        if task["pair"] and "hub" in task and task["hub"]["text_b"] is None:
            problems.append(f"tasks.{name}.pair: a pair task needs the hub source's text_b column")
        if "hub" in task and task["hub"].get("data_files") and task["hub"]["name"] is not None:
            problems.append(f"tasks.{name}.hub: data_files name the source's files, so name must be null")
        if config["data_dir"] is None and "hub" not in task:
            problems.append(f"tasks.{name}: no hub source, and data_dir is not set")
    if problems:
        raise ConfigError("invalid configuration:\n" + "\n".join(f"  {p}" for p in problems))


def _generation_problems(config: dict, name: str) -> list[str]:
    """A generation task needs backbones that can write, and its references on the hub."""
    task, problems = config["tasks"][name], []
    for backbone in config["study"]["backbones"]:
        family = config["backbones"].get(backbone, {}).get("scorer")
        if family is not None and family not in GENERATIVE_FAMILIES:
            problems.append(
                f"tasks.{name}: a generation task ({task['type']}) needs a backbone that can generate text "
                f"({', '.join(GENERATIVE_FAMILIES)}); study backbone {backbone!r} is {family!r}"
            )
    if "hub" in task and task["hub"]["answers"] is None:
        problems.append(f"tasks.{name}.hub.answers: a generation task needs the column of its references")
    return problems


def load_study(raw: dict) -> Study:
    """load_config, typed once (study.py), and the checks of the stages that read other parts of
    the config: what the workflow does before planning any job."""
    from . import cross_model, input_checks, prompt_sources, tpt

    study = Study.from_config(load_config(raw))
    input_checks.check(study)
    tpt.check(study)
    cross_model.check(study)
    prompt_sources.check(study)
    return study


def main(argv: list[str] | None = None) -> int:
    """`python -m prompt_transfer.config config.yaml [study.yaml ...]`: the files layered in order
    as Snakemake's --configfile layers them, checked as the workflow checks them. Snakemake reads
    --configfile files before the workflow starts, and names neither file nor line when one is
    not valid YAML; this names both."""
    import argparse

    from snakemake.utils import update_config

    p = argparse.ArgumentParser(description=main.__doc__.split(":", 1)[1].strip())
    p.add_argument("files", nargs="+")
    files = p.parse_args(argv).files
    raw: dict = {}
    try:
        for path in files:
            layer = read_yaml_file(path)
            if not isinstance(layer, dict):
                raise ConfigError(f"{path}: not a mapping of configuration keys")
            update_config(raw, layer)
        load_study(raw)
    except (ConfigError, OSError) as error:
        print(f"error: {error}")
        return 1
    print(f"ok: {' + '.join(files)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
