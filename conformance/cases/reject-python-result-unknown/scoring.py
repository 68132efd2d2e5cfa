def score(n):
    return n * 10
