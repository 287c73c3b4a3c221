"""Strict reading of taizhang.toml: every mistake named by file, line and key, in Chinese.

A misspelled section or key that were silently ignored would make an office run the
defaults (once, the demo) without a word; TOML's own error texts are English. This
module turns both into a ConfigError a clerk can act on.
"""
from __future__ import annotations

import difflib
import re
from pathlib import Path

from toolkit.core.errors import ConfigError

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - 3.10
    import tomli as tomllib  # type: ignore[no-redef]

_HEADER = re.compile(r"^\s*\[\s*([^\]\s]+)\s*\]")
_KEY = re.compile(r"^\s*([A-Za-z0-9_\-\u4e00-\u9fff\"']+)\s*=")
_BACKSLASH = re.compile(r'^\s*([A-Za-z0-9_\-]+)\s*=\s*"([^"]*\\[^"]*)"')
_AT_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")


def parse_toml(path: Path) -> dict:
    """The toml as a dict, or a ConfigError in Chinese (line, key, how to write it)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        raise ConfigError(f"配置文件 {path} 不是 UTF-8 编码：请用记事本“另存为”，编码选 UTF-8。") from e
    except OSError as e:
        raise ConfigError(f"配置文件 {path} 无法读取（{e.strerror or e}）。") from e
    _check_backslashes(path, text)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        found = _AT_LINE.search(str(e))
        where = f"第 {found.group(1)} 行" if found else ""
        raise ConfigError(f"配置文件 {path} {where}格式不对（{_AT_LINE.sub('', str(e)).strip()}）。"
                          "请对照使用说明（运行 taizhang guide 打开）“管理员配置”一节的示例：每项写作 名称 = \"值\"，"
                          "节名写在方括号里，如 [paths]。") from e


def _check_backslashes(path: Path, text: str) -> None:
    """"D:\\信访台账" is a TOML escape (and "D:\\new" silently a line break): say how to write it."""
    for n, line in enumerate(text.splitlines(), 1):
        m = _BACKSLASH.match(line)
        if m:
            key, value = m.group(1), m.group(2)
            raise ConfigError(
                f"配置文件 {path} 第 {n} 行：“{key}”的值在双引号里用了反斜杠 \\，TOML 会把它当作转义符。"
                f"请改用单引号：{key} = '{value}'，或改用正斜杠：{key} = \"{value.replace(chr(92), '/')}\"。")


def check_known(path: Path, data: dict, known: dict[str, tuple[str, ...]]) -> None:
    """Every section and key must be one the toolkit reads; else name the nearest one."""
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    every = [(sec, key) for sec, keys in known.items() for key in keys]
    for name, value in data.items():
        if not isinstance(value, dict):            # a key at the top, outside any [section]
            homes = [sec for sec, key in every if key == name]
            hint = (f"它应写在 [{homes[0]}] 下面" if homes
                    else _nearest(name, [f"[{s}] {k}" for s, k in every], "是不是想写"))
            raise ConfigError(_where(path, _line_of(lines, None, name), f"“{name}”不在任何节（如 [paths]）之下")
                              + f"：{_end(hint)}")
        if name not in known:
            raise ConfigError(_where(path, _line_of(lines, name, None), f"不认识的节 [{name}]")
                              + f"：{_end(_nearest(name, list(known), '是不是想写', brackets=True))}")
        for key in value:
            if key not in known[name]:
                raise ConfigError(_where(path, _line_of(lines, name, key), f"[{name}] 中有不认识的设置“{key}”")
                                  + f"：{_end(_nearest(key, list(known[name]), '是不是想写'))}")


def _nearest(word: str, options: list[str], lead: str, *, brackets: bool = False) -> str:
    close = difflib.get_close_matches(word.lower(), options, n=1, cutoff=0.5)
    shown = [f"[{o}]" if brackets else f"“{o}”" for o in (close or options)]
    if close:
        return f"{lead}{shown[0]}？"
    return "可用的有：" + "、".join(shown)


def _end(text: str) -> str:
    return text if text.endswith("？") else text + "。"


def _where(path: Path, line: int | None, what: str) -> str:
    return f"配置文件 {path}" + (f" 第 {line} 行" if line else "") + f"：{what}"


def _line_of(lines: list[str], section: str | None, key: str | None) -> int | None:
    """The line of ``[section]`` (key None) or of ``key =`` inside it (section None: the top)."""
    current: str | None = None
    for n, line in enumerate(lines, 1):
        head = _HEADER.match(line)
        if head:
            current = head.group(1).strip("\"'")
            if key is None and current == section:
                return n
            continue
        m = _KEY.match(line)
        if key is not None and m and m.group(1).strip("\"'") == key and current == section:
            return n
    return None
