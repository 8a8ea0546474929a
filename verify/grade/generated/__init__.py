"""Generated modules of the shipped rubrics' own models (verify.grade.rubric_models): do not edit."""
