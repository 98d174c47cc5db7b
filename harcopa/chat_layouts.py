"""Named chat layouts as Jinja chat templates: one definition for training and serving.

Read by the model server's templates module (rendering prompts) and by the trainer (rendering
SFT records, and saving the layout into the checkpoints it writes), so a model is served in the
layout it was trained on (official-impl §8 item 13). Pure text: no Jinja import here.
"""

from __future__ import annotations

XTUNER_DEFAULT = "xtuner-default"

#: XTuner 0.1.23's ``default`` prompt template (official-impl §6.1), the layout the paper's
#: checkpoints were fine-tuned on: ``<|System|>:{system}\n`` once, then per turn
#: ``<|User|>:{input}\n<|Bot|>:`` and the answer followed by EOS; later turns are preceded by
#: the separator ``\n``. The generation prompt (``<|Bot|>:``) is part of each user turn, so
#: ``add_generation_prompt`` changes nothing.
XTUNER_DEFAULT_SOURCE = (
    "{% set ns = namespace(turns=0) %}"
    "{% for message in messages %}"
    "{% if message['role'] == 'system' %}"
    "{{ '<|System|>:' + message['content'] + '\n' }}"
    "{% elif message['role'] == 'user' %}"
    "{% if ns.turns > 0 %}{{ '\n' }}{% endif %}"
    "{{ '<|User|>:' + message['content'] + '\n<|Bot|>:' }}"
    "{% set ns.turns = ns.turns + 1 %}"
    "{% elif message['role'] == 'assistant' %}"
    "{{ message['content'] + eos_token }}"
    "{% endif %}"
    "{% endfor %}"
)

NAMED_LAYOUTS: dict[str, str] = {XTUNER_DEFAULT: XTUNER_DEFAULT_SOURCE}
