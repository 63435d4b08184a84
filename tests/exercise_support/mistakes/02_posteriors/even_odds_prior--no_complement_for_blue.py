"""Uses the red probabilities for a blue marble."""

def even_odds_prior(colour, p1, p2):
    return p2 / (p1 + p2)
