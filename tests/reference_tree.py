"""A synthetic tree shaped like the paper's reference code, for the prompt importer's tests.

Same file paths, function names and signatures as the released reference, with our own wording
(braces, backticks, quotes, unicode and a literal ``'''`` on purpose). The builders are defined
here as ordinary functions, so tests call them for the expected texts; ``write_tree`` puts
their source into the reference layout, behind top-level lines that fail if a file is ever
imported or run.
"""

from __future__ import annotations

import inspect
import json
import textwrap
from pathlib import Path
from types import SimpleNamespace

from harcopa.domain import OPEN_HEADER
from harcopa.reference import digest

SYSTEM_PROMPT_SFT = "Synthetic system: a Lean 4 prover ∎."
GENERAL_SYSTEM = "Synthetic system: a general assistant."

_GUARD = (
    "import vllm  # absent here: the importer must never import this file\n"
    "from transformers import AutoTokenizer\n"
    "raise RuntimeError('the synthetic reference was executed')\n\n"
)


class DataPoint:
    """Stands for the reference's record class in the builders below."""


class FormalProblem(SimpleNamespace):
    """Stands for the reference's problem class in the builders below."""


def format_forward_solution_step_prompt(informal_problem: str, solution_goal: Goal | str) -> str:  # noqa: F821
    return f"""SYNTH-P2: write the next step {{one step}}; `Mathlib` is there — ∀ε.
## Question
'''
{informal_problem}
'''
## State now
```lean4
{solution_goal!s}
```
"""


def format_whole_solution_generation_prompt(
    informal_problem: str,
    initial_solution_state: Goal | str,  # noqa: F821
) -> str:
    first, _, rest = str(initial_solution_state).partition("\n")
    assert first.startswith("case ")
    shown = "case h.mp\n" + rest
    return f"""SYNTH-P3: a whole formal solution, forward only {{no goal change}}.
```lean4
import Mathlib
```

## Question
\"\"\"
{informal_problem}
\"\"\"

## Start
```
{shown}
```
"""


def format_solution_draft_prompt(informal_problem: str, initial_solution_state: Goal | str) -> str:  # noqa: F821
    lines = str(initial_solution_state).splitlines()
    assert lines[0].startswith("case ")
    shown = "\n".join(["case h.mp", *lines[1:]])
    return (
        "SYNTH-P4: a sketch; close new facts with `sorry` ‹gap›.\n"
        f'## Question\n"""\n{informal_problem}\n"""\n\n## Start\n```\n{shown}\n```\n'
    )


class SFT_NALP_LLMProofSearchAgent:
    def gen_prompt(self, cur_search_state: ProofSearchState, goal_str: str) -> List[Dict]:  # noqa: F821
        return [
            {"role": "system", "content": SYSTEM_PROMPT_SFT},
            {
                "role": "user",
                "content": f"SYNTH-P1: one tactic toward {{no goals}} 'now'.\n"
                f"```\n{goal_str}\n```\n",
            },
        ]


class SFT_NALP_LLMSolutionAutoregressionAgent:
    def gen_prompt(self, sample: FormalProblem, cur_search_state: GoalState) -> List[Dict]:  # noqa: F821
        goal = "case h.mp\n" + str(cur_search_state.goals[0])
        assert goal.endswith("⊢ False")
        goal = goal.removesuffix("False") + "?w"
        return [
            {"role": "system", "content": SYSTEM_PROMPT_SFT},
            {
                "role": "user",
                "content": format_forward_solution_step_prompt(sample.informal_problem, goal),
            },
        ]


class SFT_NALP_LLMSolutionSearchAgent:
    def gen_prompt(self, sample: FormalProblem, cur_search_state: SolutionSearchState) -> List:  # noqa: F821
        text = str(cur_search_state.state.goals[0])
        assert text.endswith("⊢ False")
        goal = "case h.mp\n" + text[: -len("False")] + "?w"
        return [
            {"role": "system", "content": SYSTEM_PROMPT_SFT},
            {
                "role": "user",
                "content": format_forward_solution_step_prompt(
                    informal_problem=sample.informal_problem, solution_goal=goal
                ),
            },
        ]


class SolutionAutoformalizer:
    def __init__(self, server: Server, autoformalization_model: str = None) -> None:  # noqa: F821, RUF013
        self.server = server
        self.autoformalization_model = autoformalization_model
        self.demonstrations = {}

    async def autoformalize_async(self, problem_data: DataPoint, tag: str | None = None) -> None:
        prompt = self.format_solution_draft_prompt(problem_data)
        await self.client.chat.completions.create(
            model=self.autoformalization_model,
            messages=[
                {
                    "role": "system",
                    "content": "Synthetic system: a general assistant."
                    if "hf_ckpts" not in self.autoformalization_model
                    else SYSTEM_PROMPT_SFT,
                },
                {"role": "user", "content": prompt},
            ],
        )

    def format_sample(self, v: DataPoint | FormalProblem, stop_at_proof: bool = False) -> str:
        text = f"## Question\n'''\n{v.informal_problem}\n'''\n"
        text += f"## Result\n«the answer: {v.informal_answer}»\n"
        if not stop_at_proof:
            text += f"## Reasoning\n{{\n{v.informal_solution}\n}}\n"
        if isinstance(v, DataPoint):
            text += "## never for a FormalProblem\n"
        elif isinstance(v, FormalProblem) and v.formal_statement is not None:
            assert v.formal_statement.endswith("\n:= sorry")
            text += f"\n## Statement\n```lean4\n{v.formal_statement.removesuffix('sorry')}by\n```\n"
        return text

    def format_problem_autoformalization_prompt(self, sample: DataPoint | FormalProblem) -> str:
        assert sample.formal_statement is None
        prompt = "SYNTH-P6: formalize with `answer` ''' kept.\n"
        prompt += f"```lean4\nimport Mathlib\n{OPEN_HEADER}```\n\n"
        if sample.metainfo.get("subject") in self.demonstrations:
            prompt += "examples\n"
        return prompt + self.format_sample(sample, stop_at_proof=True) + "\n"

    def format_solution_draft_prompt(self, sample: DataPoint | FormalProblem) -> str:
        assert sample.formal_solution_draft is None
        prompt = "SYNTH-P5: sketch the proof, comments point at the reasoning {†}.\n\n"
        if sample.metainfo.get("subject") in self.demonstrations:
            prompt += "examples\n"
        return prompt + self.format_sample(sample) + "\n"


def _evaluator(function: str) -> str:
    return textwrap.dedent(
        f"""\
        def main(solver_model_name: str, kw: int = 8) -> None:
            async def search(sample: FormalProblem, tag_i: int) -> None:
                response = await solver_client.chat.completions.create(
                    model=solver_model_name,
                    messages=[
                        {{"role": "system", "content": SYSTEM_PROMPT_SFT}},
                        {{"role": "user", "content": {function}(sample.informal_problem, str(g))}},
                    ],
                )
        """
    )


def _source(*objects: object) -> str:
    return "\n\n".join(textwrap.dedent(inspect.getsource(o)) for o in objects)  # type: ignore[arg-type]


def tree_files() -> dict[str, str]:
    """The synthetic tree: relative path -> file text."""
    constants = (
        f"SYSTEM_PROMPT_SFT = {SYSTEM_PROMPT_SFT!r}\nOPEN_HEADER = {OPEN_HEADER!r}\n"
        "BANNED = re.compile('sorry')  # not a literal: never read\n"
    )
    return {
        "common/constants.py": "import regex as re\n" + constants,
        "common/utils.py": _GUARD
        + _source(
            format_forward_solution_step_prompt,
            format_whole_solution_generation_prompt,
            format_solution_draft_prompt,
        ),
        "agent/proof_search.py": _GUARD + _source(SFT_NALP_LLMProofSearchAgent),
        "agent/solution_autoregression.py": _GUARD
        + _source(SFT_NALP_LLMSolutionAutoregressionAgent),
        "agent/solution_search.py": _GUARD + _source(SFT_NALP_LLMSolutionSearchAgent),
        "agent/solution_autoformalization.py": _GUARD + _source(SolutionAutoformalizer),
        "evaluator/wg.py": _GUARD + _evaluator("format_whole_solution_generation_prompt"),
        "evaluator/h_wg.py": _GUARD + _evaluator("format_solution_draft_prompt"),
    }


def write_tree(root: Path, files: dict[str, str] | None = None) -> Path:
    """Write the tree under ``root`` and its hashes to ``root/../hashes.json``; that path."""
    for relative, text in (files or tree_files()).items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    hashes = root.parent / f"{root.name}-hashes.json"
    hashes.write_text(
        json.dumps({relative: digest(root / relative) for relative in tree_files()}),
        encoding="utf-8",
    )
    return hashes
