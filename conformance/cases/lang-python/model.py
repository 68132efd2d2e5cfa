# The Python side of the lang-python case.
def score(packet_len: int) -> int:
    return 90 if packet_len > 1000 else 10

def label(n: int) -> str:
    return "big" if n > 1000 else "small"

def is_even(n: int) -> bool:
    return n % 2 == 0

def double(x):
    return x * 2

def fail(msg: str):
    raise ValueError(msg)

def huge() -> int:
    return 1 << 40
