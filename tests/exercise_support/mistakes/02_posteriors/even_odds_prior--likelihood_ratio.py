"""Returns the likelihood ratio instead of solving for the prior."""

def even_odds_prior(colour, p1, p2):
    like1 = p1 if colour == 1 else 1 - p1
    like2 = p2 if colour == 1 else 1 - p2
    return like2 / like1
