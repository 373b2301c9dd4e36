"""The lesson: content and quiz, figures, calculators and recorded runs."""
