"""The prompt importer (harcopa.reference, ``harcopa prompts import``) on a synthetic reference
tree: byte-exact renderings, refusal of files that are not the accepted ones, and builders whose
texts harcopa cannot reproduce."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from types import SimpleNamespace

import pytest

from harcopa.domain import OPEN_HEADER, Goal, ProofState, StateHandle, Variable
from harcopa.errors import InvalidRequest
from harcopa.fps import initial_solution_state_text, solution_state_text
from harcopa.prompts import PromptTemplates
from harcopa.reference import ReferenceMismatch, import_reference, load_hashes
from harcopa.reference.importer import toml_string
from harcopa_cli.main import main
from harcopa_cli.prompts import HASHES_ENV
from tests import reference_tree as ref

INFORMAL = ["What is {x} + `y`? ∑ᵢ ε ''' \"\"\" ```lean4 }{", "", "two\nlines\n"]
ANSWERS = ["7", "", "{√2} `and` «3»"]
GOALS = [
    Goal((Variable("x", "ℕ"), Variable("y", "ℕ"), Variable("h", "{x} = `y`")), "False"),
    Goal((), "False"),
    Goal((Variable(None, "Fintype α"), Variable("f", "ℕ → ℝ", "fun n => {n}")), "False"),
]
STATEMENTS = [
    "example\n(answer : ℕ)\n(h : answer = {3} ∧ `t`)\n: answer = 7\n:= sorry",
    "example\n:= sorry",
    "theorem t (x : ℝ) :\n  x = x -- ∀ ε ''' \"\"\"\n:= sorry",
]


class _Text:
    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


def _chat(prompt: object) -> tuple[str, str]:
    messages = prompt.messages  # type: ignore[attr-defined]
    assert [m.role for m in messages] == ["system", "user"]
    return messages[0].content, messages[1].content


def _pair(messages: list[dict[str, str]]) -> tuple[str, str]:
    return messages[0]["content"], messages[1]["content"]


def _coupled(goal: Goal) -> Goal:
    """A goal coupled to ``goal`` (listed after it): the prover's text shows both."""
    return Goal(goal.variables, "⊢ x", name="inl", sibling_dep=(1,))


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    root = tmp_path / "har_copa_main"
    hashes = ref.write_tree(root)
    return root, json.loads(hashes.read_text(encoding="utf-8"))


@pytest.fixture
def templates(tree: tuple[Path, dict[str, str]], tmp_path: Path) -> PromptTemplates:
    root, hashes = tree
    result = import_reference(root, tmp_path / "out" / "prompts.toml", hashes=hashes)
    assert not result.released and result.comparisons == 21
    return PromptTemplates.load(result.path)


@pytest.mark.parametrize("case", range(3))
def test_imported_templates_render_what_the_builders_return(
    templates: PromptTemplates, case: int
) -> None:
    informal, answer, goal = INFORMAL[case], ANSWERS[case], GOALS[case]
    solution, statement = INFORMAL[(case + 1) % 3], STATEMENTS[case]
    state = ProofState(StateHandle("s", 1), (_coupled(goal), goal))
    system = ref.SYSTEM_PROMPT_SFT
    expected_p1 = ref.SFT_NALP_LLMProofSearchAgent().gen_prompt(None, state.first_goal_text())
    assert _chat(templates.next_proof_step(state.first_goal_text())) == _pair(expected_p1)

    sample = ref.FormalProblem(informal_problem=informal)
    forward = SimpleNamespace(goals=[_Text(goal.render())])
    expected_p2 = ref.SFT_NALP_LLMSolutionAutoregressionAgent().gen_prompt(sample, forward)
    bfs = SimpleNamespace(state=forward)
    assert _pair(ref.SFT_NALP_LLMSolutionSearchAgent().gen_prompt(sample, bfs)) == _pair(
        expected_p2
    )
    for drafting in (False, True):
        shown = templates.next_solution_step(informal, solution_state_text(goal), drafting=drafting)
        assert _chat(shown) == _pair(expected_p2)

    h = Goal(goal.variables, "?w", name="h")
    whole = ref.format_whole_solution_generation_prompt(informal, h.render())
    sketch = ref.format_solution_draft_prompt(informal, h.render())
    shown_state = initial_solution_state_text(h)
    assert _chat(templates.whole_solution(informal, shown_state, drafting=False)) == (system, whole)
    assert _chat(templates.whole_solution(informal, shown_state, drafting=True)) == (system, sketch)

    formalizer = ref.SolutionAutoformalizer(None, "/models/x")
    problem = ref.FormalProblem(
        informal_problem=informal,
        informal_answer=answer,
        informal_solution=solution,
        formal_statement=statement,
        formal_solution_draft=None,
        metainfo={},
    )
    drafting = templates.solution_drafting(informal, answer, solution, statement)
    assert _chat(drafting) == (ref.GENERAL_SYSTEM, formalizer.format_solution_draft_prompt(problem))

    unstated = ref.FormalProblem(**{**vars(problem), "formal_statement": None})
    expected_p6 = formalizer.format_problem_autoformalization_prompt(unstated)
    assert _chat(templates.statement_autoformalization(informal, answer)) == (system, expected_p6)


def test_the_file_says_where_each_text_comes_from(
    tree: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, hashes = tree
    out = import_reference(root, tmp_path / "p.toml", hashes=hashes).path
    text = out.read_text(encoding="utf-8")
    assert "UNRELEASED tree" in text
    assert "README's model path" in text and "hf_ckpts" in text
    assert "SolutionAutoformalizer.format_problem_autoformalization_prompt" in text
    data = tomllib.loads(text)
    assert "system" not in data["tasks"]["statement_autoformalization"]
    assert data["tasks"]["solution_drafting"]["system"] == ref.GENERAL_SYSTEM
    assert not (tmp_path / "p.toml.partial").exists()


def test_the_released_hashes_refuse_any_other_tree(
    tree: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, _ = tree
    with pytest.raises(InvalidRequest, match=r"reference file agent/proof_search\.py differs"):
        import_reference(root, tmp_path / "p.toml")
    assert not (tmp_path / "p.toml").exists()


@pytest.mark.parametrize("relative", ["agent/solution_search.py", "common/constants.py"])
def test_a_modified_or_missing_file_is_refused_by_name(
    tree: tuple[Path, dict[str, str]], tmp_path: Path, relative: str
) -> None:
    root, hashes = tree
    path = root / relative
    path.write_text(path.read_text(encoding="utf-8") + "# edited\n", encoding="utf-8")
    with pytest.raises(InvalidRequest, match=f"reference file {relative} differs"):
        import_reference(root, tmp_path / "p.toml", hashes=hashes)
    path.unlink()
    with pytest.raises(InvalidRequest, match=f"reference file {relative} is missing"):
        import_reference(root, tmp_path / "p.toml", hashes=hashes)


def test_crlf_checkouts_hash_like_the_release(
    tree: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    root, hashes = tree
    path = root / "common/utils.py"
    path.write_bytes(path.read_bytes().replace(b"\n", b"\r\n"))
    assert import_reference(root, tmp_path / "p.toml", hashes=hashes).comparisons == 21


def test_a_builder_harcopa_cannot_follow_is_a_mismatch(tmp_path: Path) -> None:
    files = ref.tree_files()
    files["agent/solution_search.py"] = files["agent/solution_search.py"].replace(
        '"case h.mp\\n"', '"case other\\n"'
    )
    root = tmp_path / "tree"
    hashes = json.loads(ref.write_tree(root, files).read_text(encoding="utf-8"))
    hashes["agent/solution_search.py"] = ref.digest(root / "agent/solution_search.py")
    with pytest.raises(ReferenceMismatch, match="AR and BFS agents send different"):
        import_reference(root, tmp_path / "p.toml", hashes=hashes)
    files = ref.tree_files()
    for name in ("agent/solution_search.py", "agent/solution_autoregression.py"):
        files[name] = files[name].replace('"case h.mp\\n"', '"case h.mpr\\n"')
    ref.write_tree(root, files)
    hashes = {name: ref.digest(root / name) for name in hashes}
    with pytest.raises(ReferenceMismatch, match="builds solution_state differently"):
        import_reference(root, tmp_path / "p.toml", hashes=hashes)


def test_cli_import_exit_codes(
    tree: tuple[Path, dict[str, str]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    root, _ = tree
    out = tmp_path / "prompts.toml"
    argv = ["prompts", "import", "--reference", str(root), "--out", str(out)]
    assert main(argv) == 2  # the released hashes: the synthetic files differ
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "agent/proof_search.py differs" in error
    monkeypatch.setenv(HASHES_ENV, str(tmp_path / "har_copa_main-hashes.json"))
    assert main(argv) == 0
    assert "7 task templates from an unreleased tree" in capsys.readouterr().out
    assert PromptTemplates.load(out).tasks["solution_drafting"].system == ref.GENERAL_SYSTEM
    (root / "evaluator/wg.py").write_text("# edited\n", encoding="utf-8")
    assert main(argv) == 2
    assert "reference file evaluator/wg.py differs" in capsys.readouterr().err


def test_hashes_file_must_name_every_file(tmp_path: Path) -> None:
    path = tmp_path / "h.json"
    path.write_text(json.dumps({"common/utils.py": "0" * 64}), encoding="utf-8")
    with pytest.raises(InvalidRequest, match=r"miss files: agent/proof_search\.py"):
        load_hashes(path)
    path.write_text("[1]", encoding="utf-8")
    with pytest.raises(InvalidRequest, match="path -> sha256"):
        load_hashes(path)


@pytest.mark.parametrize(
    "text",
    [
        "plain\n",
        "ends with a quote'",
        "has ''' inside",
        "tab\tcr\r\nbell\x07del\x7f",
        "",
        "\\u0041",
    ],
)
def test_toml_strings_round_trip(text: str) -> None:
    for multiline in (False, True):
        assert tomllib.loads(f"v = {toml_string(text, multiline=multiline)}")["v"] == text


def test_open_header_is_the_references(tree: tuple[Path, dict[str, str]], tmp_path: Path) -> None:
    root, hashes = tree
    constants = root / "common/constants.py"
    constants.write_text(
        constants.read_text(encoding="utf-8").replace(repr(OPEN_HEADER), repr("open Real\n")),
        encoding="utf-8",
    )
    hashes["common/constants.py"] = ref.digest(constants)
    with pytest.raises(ReferenceMismatch, match="OPEN_HEADER differs"):
        import_reference(root, tmp_path / "p.toml", hashes=hashes)


def test_a_tree_without_a_builder_is_refused(tmp_path: Path) -> None:
    files = ref.tree_files()
    files["agent/proof_search.py"] = files["agent/proof_search.py"].replace(
        "def gen_prompt(", "def make_prompt("
    )
    root = tmp_path / "tree"
    hashes = json.loads(ref.write_tree(root, files).read_text(encoding="utf-8"))
    hashes["agent/proof_search.py"] = ref.digest(root / "agent/proof_search.py")
    with pytest.raises(InvalidRequest, match=r"has no SFT_NALP_LLMProofSearchAgent\.gen_prompt"):
        import_reference(root, tmp_path / "p.toml", hashes=hashes)


def test_an_unwritable_output_is_bad_input(tree: tuple[Path, dict[str, str]]) -> None:
    root, hashes = tree
    with pytest.raises(InvalidRequest, match="cannot write"):
        import_reference(root, root / "agent", hashes=hashes)  # a folder
