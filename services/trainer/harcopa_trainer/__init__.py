"""The trainer service: SFT records from finished runs and fine-tuning on them.

``harcopa export-sft`` (export, pieces, copa, runstore, data) and ``harcopa train`` (config,
launch, layout, observe, train; ``python -m harcopa_trainer`` is one worker) call into it.
"""
