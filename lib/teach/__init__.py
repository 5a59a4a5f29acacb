"""lib.teach: the prose and logic of teaching: explanations, quizzes, notes, model building."""
