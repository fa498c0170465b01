"""README.md shows examples/echo/echo.c verbatim: the example in the docs is
the code that is built and tested."""
import os
import re

ROOT = os.path.join(os.path.dirname(__file__), "..", "..")


def test_readme_example_is_examples_echo():
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    blocks = re.findall(r"```c\n(.*?)```", readme, re.S)
    echo = open(os.path.join(ROOT, "examples", "echo", "echo.c"), encoding="utf-8").read()
    assert echo in blocks
