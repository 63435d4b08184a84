"""Independent correct answers to the course's assignments, for the similarity report's proof (issue 18).

``variants/aNN_*.py`` hold, for every code answer cell of an assignment, several answers written the way
different students would write them; ``corpus`` loads them and composes a class of independent students.
"""
