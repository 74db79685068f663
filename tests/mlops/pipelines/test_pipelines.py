"""Authoring: steps build a DAG without running, parameters are validated first, cycles are named."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triops.errors import CycleError, InvalidInputError, PipelineError
from triops.mlops.pipelines.authoring import Pipeline, Resources, Step, pipeline, step
from triops.mlops.pipelines.targets import load_target, target_of

CALLS: list[str] = []


@step
def source(n: int) -> list[int]:
    CALLS.append("source")
    return list(range(n))


@step
def add(values: list[int], k: int = 1) -> list[int]:
    CALLS.append("add")
    return [v + k for v in values]


@step(outputs=["left", "right"])
def halves(values: list[int]) -> tuple[list[int], list[int]]:
    mid = len(values) // 2
    return values[:mid], values[mid:]


@pipeline
def simple(n: int = 3, k: int = 1) -> None:
    add(source(n), k)


def test_building_a_pipeline_runs_no_step() -> None:
    CALLS.clear()
    dag, values = simple.build({"n": 4})
    assert CALLS == []
    assert list(dag.nodes) == ["source", "add"]
    assert values == {"n": 4, "k": 1}
    assert dag.nodes["add"].inputs["values"].node == "source"
    assert dag.nodes["add"].literals == {"k": 1}


def test_a_step_called_outside_a_pipeline_is_a_plain_function() -> None:
    assert add([1, 2], 10) == [11, 12]


def test_params_are_coerced_and_validated_by_their_annotations() -> None:
    _dag, values = simple.build({"n": "5"})
    assert values["n"] == 5
    with pytest.raises(InvalidInputError) as info:
        simple.build({"n": "many"})
    assert "n" in str(info.value) and "integer" in str(info.value)


def test_an_unknown_param_lists_the_valid_ones() -> None:
    with pytest.raises(InvalidInputError) as info:
        simple.build({"nn": 3})
    message = str(info.value)
    assert "'nn'" in message and "n: int = 3" in message and "k: int = 1" in message


def test_a_missing_required_param_is_named() -> None:
    @pipeline
    def needs(n: int) -> None:
        source(n)

    with pytest.raises(InvalidInputError, match="n"):
        needs.build({})


def test_repeated_steps_get_distinct_node_names() -> None:
    @pipeline
    def twice() -> None:
        add(add(source(2)))

    dag, _ = twice.build()
    assert list(dag.nodes) == ["source", "add", "add_2"]
    assert dag.order() == ["source", "add", "add_2"]


def test_tuple_outputs_unpack_into_named_placeholders() -> None:
    @pipeline
    def split() -> None:
        left, right = halves(source(4))
        add(left)
        add(right)

    dag, _ = split.build()
    assert dag.nodes["add"].inputs["values"].output == "left"
    assert dag.nodes["add_2"].inputs["values"].output == "right"


def test_a_cycle_names_the_steps_in_it() -> None:
    @pipeline
    def loop() -> None:
        a = source(2)
        b = add(a)
        c = add(b)
        a.after(c)

    with pytest.raises(CycleError) as info:
        loop.build()
    message = str(info.value)
    assert "source" in message and "add" in message and "add_2" in message
    assert set(info.value.detail["cycle"]) >= {"source", "add", "add_2"}


def test_using_a_placeholder_as_a_value_is_explained() -> None:
    @pipeline
    def branchy() -> None:
        if source(2):
            add([1])

    with pytest.raises(PipelineError, match="no value while the pipeline is being built"):
        branchy.build()


def test_wrong_step_arguments_show_the_signature() -> None:
    @pipeline
    def bad() -> None:
        add(source(1), 1, 2)

    with pytest.raises(PipelineError, match=r"add\(values"):
        bad.build()


def test_nested_placeholders_are_refused() -> None:
    @pipeline
    def nested() -> None:
        add([source(1)])

    with pytest.raises(PipelineError, match="nests step outputs"):
        nested.build()


def test_a_pipeline_without_steps_is_refused() -> None:
    @pipeline
    def empty() -> None:
        return None

    with pytest.raises(PipelineError, match="calls no steps"):
        empty.build()


def test_calling_a_pipeline_directly_explains_how_to_run_it() -> None:
    with pytest.raises(PipelineError, match="run_pipeline"):
        simple()


def test_step_options_are_checked() -> None:
    with pytest.raises(InvalidInputError, match="unknown resources"):
        step(resources={"tpu": 1})(lambda: 1)
    with pytest.raises(InvalidInputError, match="retries"):
        step(retries=-1)(lambda: 1)
    with pytest.raises(InvalidInputError, match="timeout"):
        step(timeout=0)(lambda: 1)
    with pytest.raises(InvalidInputError, match="contracts"):
        step(contracts={"nope": "x.yaml"})(lambda data: data)
    with pytest.raises(PipelineError, match="must be named"):
        step(lambda *values: values)


def test_step_defaults() -> None:
    assert isinstance(add, Step)
    assert add.retries == 0 and add.timeout is None and add.cache is True
    assert add.resources == Resources(cpu=1.0, memory_gb=1.0, gpu=0.0)
    assert add.output_names == ("output",)
    assert halves.output_names == ("left", "right")


@given(st.lists(st.integers(min_value=0, max_value=30), min_size=1, max_size=30))
def test_order_always_puts_upstream_steps_first(picks: list[int]) -> None:
    """Random DAGs: each new node consumes an earlier one; the order respects every edge."""

    @pipeline
    def random_dag() -> None:
        outs = [source(1)]
        for p in picks:
            outs.append(add(outs[p % len(outs)]))

    dag, _ = random_dag.build()
    order = dag.order()
    position = {n: i for i, n in enumerate(order)}
    assert sorted(order) == sorted(dag.nodes)
    for name, node in dag.nodes.items():
        for upstream in node.upstream:
            assert position[upstream] < position[name]


def test_load_target_by_module_and_by_file(tmp_path: Path) -> None:
    pipe = load_target("tests.mlops.pipelines.pipelines_example:numbers")
    assert isinstance(pipe, Pipeline) and pipe.name == "numbers"
    assert target_of(pipe) == "tests.mlops.pipelines.pipelines_example:numbers"
    file = tmp_path / "my_flow_for_test.py"
    file.write_text(
        "from triops.mlops.pipelines.authoring import pipeline, step\n"
        "@step\ndef one() -> int:\n    return 1\n"
        "@pipeline\ndef flow() -> None:\n    one()\n"
    )
    assert load_target(f"{file}:flow").name == "flow"


def test_load_target_errors_are_specific(tmp_path: Path) -> None:
    with pytest.raises(InvalidInputError, match="module:name"):
        load_target("no_colon")
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_target(f"{tmp_path}/missing.py:flow")
    with pytest.raises(InvalidInputError, match=r"pipelines there: .*numbers"):
        load_target("tests.mlops.pipelines.pipelines_example:nothing_here")
    with pytest.raises(InvalidInputError, match="not a pipeline"):
        load_target("tests.mlops.pipelines.pipelines_example:make_numbers")
