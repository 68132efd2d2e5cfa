# Run by prog's exec("reader.py"): reads what the XDP program counted
# through the generated module, writes and deletes entries, reads back.
import sys
import time

import prog

# The program stays attached after the exec: the last pings (the runner
# sends 4, the loader handed over after 2) are still counted.
deadline = time.time() + 10
while prog.pings.get(8, 0) < 4 and time.time() < deadline:
    time.sleep(0.05)
print("pings:", prog.pings[8], "keys:", list(prog.pings.keys()))

t = prog.tally[0]
print("tally[0]: packets=%d bytes=%d last_len=%d tag=%r" % (t.packets, t.bytes, t.last_len, t.tag))
print("tally[1]:", prog.tally[1])
print("per_cpu:", prog.per_cpu.sum(0), len(prog.per_cpu[0]) >= 1)

prog.notes[7] = -5
prog.notes[9] = 12
print("notes:", sorted(prog.notes.items()), len(prog.notes))
del prog.notes[7]
print("after del:", 7 in prog.notes, prog.notes.get(7, "gone"), sorted(prog.notes.keys()))
try:
    prog.notes[7]
except KeyError as e:
    print("KeyError:", e)
try:
    del prog.notes[7]
except KeyError as e:
    print("KeyError on del:", e)
try:
    prog.notes[1] = 1 << 40
except OverflowError as e:
    print("OverflowError:", e)

prog.tally[1] = prog.Tally(packets=1, bytes=2, last_len=3, tag=b"hello")
print("tally[1]:", prog.tally[1])
prog.tally[1] = {"packets": 4, "tag": "py"}
print("tally[1]:", prog.tally[1]._asdict())
try:
    del prog.tally[1]
except TypeError as e:
    print("TypeError:", e)

prog.per_cpu[0] = 10
print("per_cpu:", prog.per_cpu.sum(0), prog.per_cpu[0][0])
print("maps:", sorted(prog.maps), prog.tally.kind, prog.tally.max_entries)
sys.stdout.flush()
