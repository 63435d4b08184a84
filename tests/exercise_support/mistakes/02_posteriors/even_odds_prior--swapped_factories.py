"""Solves the balance equation with the factories swapped."""

def even_odds_prior(colour, p1, p2):
    like1 = p1 if colour == 1 else 1 - p1
    like2 = p2 if colour == 1 else 1 - p2
    return like1 / (like1 + like2)
