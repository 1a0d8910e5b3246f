"""The safe expression language of case files: grammar, evaluation, derivatives."""
