"""What an administrator sets up: paths, the daily time, the mail server (``taizhang.toml``).

``find_config_file`` is the one rule for where taizhang.toml is; ``read_config``
reads one. Which config a run uses (and that no file means the demo) is decided
once, in :func:`toolkit.api.load_config`.
"""
from __future__ import annotations

import ipaddress
import os
import re
import sys
from dataclasses import dataclass, field, fields
from datetime import date
from pathlib import Path
from typing import Iterable
from urllib.parse import urlsplit

from toolkit.core.config_check import check_known, parse_toml
from toolkit.core.errors import ConfigError

PROJECT_ROOT = Path(__file__).resolve().parents[2]   # the toolkit's folder (beside run_daily.py)
WORKBOOKS = PROJECT_ROOT / "workbooks"                # in a checkout; absent when installed as a wheel
CONFIG_NAME = "taizhang.toml"
CONFIG_ENV = "TAIZHANG_CONFIG"
DEMO_HOME_ENV = "TAIZHANG_DEMO_HOME"
# Folders the toolkit itself writes beside workbooks; never read back as submissions.
BACKUP_DIR = "备份"          # originals kept before an in-place fill
HISTORY_DIR = "历史版本"     # previous masters
OWN_FOLDERS = (BACKUP_DIR, HISTORY_DIR)
# What the toolkit takes for a workbook by its name (a mail attachment, the demo's restore; a
# folder's other files are listed too, each with a verdict: intake/find.py).
SPREADSHEET_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xlsb", ".xls", ".ods", ".et"})


@dataclass
class MailConfig:
    host: str = ""
    port: int = 993
    security: str = "ssl"              # ssl | starttls | plain
    user: str = ""
    password_env: str = "TAIZHANG_MAIL_PASSWORD"
    folder: str = "INBOX"
    processed_folder: str = ""         # move processed messages here; empty = flag them only
    max_attachment_mb: float = 20.0
    smtp_host: str = ""
    smtp_port: int = 465
    smtp_security: str = "ssl"         # ssl | starttls | plain
    smtp_user: str = ""
    smtp_password_env: str = ""        # defaults to password_env when empty
    sender: str = ""
    ca_file: str = ""                  # extra CA/self-signed certificate (PEM) to trust
    timeout: float = 60.0              # seconds, for every IMAP/SMTP socket operation
    since_days: int = 30               # only messages that arrived in the last N days; 0 = all
    receipts: bool = True              # send a receipt to each village that sent a file

    @property
    def enabled(self) -> bool:
        return bool(self.host)


@dataclass
class ServeConfig:
    """[serve]: `taizhang serve` and the office page (villages upload, the office's status)."""
    host: str = ""                     # the address to listen on; empty = this computer only (127.0.0.1)
    port: int = 8765
    url: str = ""                      # the address villages type (printed on 报送方式); empty = http://host:port
    max_upload_mb: float = 20.0        # one uploaded workbook
    uploads_per_hour: int = 20         # per village link
    uploads_at_once: int = 2           # uploads checked at the same time (the rest are told to retry)

    @property
    def enabled(self) -> bool:
        """An address other than this computer is named: the page is meant for the network."""
        return bool(self.host)

    def base_url(self) -> str:
        if self.url:
            return self.url.rstrip("/")
        return http_address(self.host or "127.0.0.1", self.port)

    @property
    def only_here(self) -> bool:
        """The printed addresses open only on this computer (127.0.0.1, localhost): no village can use them."""
        return is_loopback((urlsplit(self.base_url()).hostname or "").lower())


EVERY_ADDRESS = ("0.0.0.0", "::")       # a server listening on every address (this computer's too)


def http_address(host: str, port: int) -> str:
    """http://host:port, an IPv6 address in brackets."""
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}"


def is_loopback(host: str) -> bool:
    """This computer only: a loopback address (127.0.0.1, ::1) or the name localhost."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


# Where an office's folders go when taizhang.toml does not name them: beside the toml
# (or in the current folder for a bare ``Config()``), never inside the installed package.
DEFAULT_LAYOUT = {
    "inbox": "收件箱",
    "master": "输出/总台账.xlsx",
    "archive": "存档",
    "logs": "日志",
    "state": "状态",
    "settings_workbook": "设置.xlsx",
    "annotated": "输出/批注副本",
}
PATH_KEYS = tuple(DEFAULT_LAYOUT)


def _default(key: str):
    return field(default_factory=lambda: Path.cwd() / DEFAULT_LAYOUT[key])


@dataclass
class Config:
    inbox: Path = _default("inbox")
    master: Path = _default("master")
    archive: Path = _default("archive")
    logs: Path = _default("logs")
    state: Path = _default("state")
    settings_workbook: Path = _default("settings_workbook")
    annotated: Path = _default("annotated")
    daily_time: str = "07:30"
    as_of: date | None = None          # [daily] as_of: a fixed as-of date (None = not fixed)
    daily_remind: tuple[int, ...] = ()  # [daily] remind: weekdays (0 = Monday) to send 催报 mail
    mail: MailConfig = field(default_factory=MailConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)
    source: Path | None = None         # the taizhang.toml read; None for the demo
    demo: bool = False                 # the bundled demo (no taizhang.toml found)

    @property
    def own_inbox(self) -> Path | None:
        """The inbox an office gets when taizhang.toml names none (收件箱 beside it): made when
        missing, as the other folders are. An inbox the toml names is never made: a missing one
        is a wrong path or a share that is not connected, and the clerk is told."""
        if self.source is None or self.demo:
            return None
        default = Path(self.source).parent / DEFAULT_LAYOUT["inbox"]
        return default if Path(self.inbox) == default else None

    @classmethod
    def rooted(cls, home: Path, **kwargs) -> "Config":
        """A config whose every folder is in ``home`` (the toml's folder, or the demo's home)."""
        paths = {k: Path(home) / v for k, v in DEFAULT_LAYOUT.items()}
        return cls(**{**paths, **kwargs})


def _path(base: Path, value: object) -> Path:
    p = Path(str(value)).expanduser()
    return p if p.is_absolute() else (base / p)


def find_config_file(explicit: Path | str | None = None, *,
                     near: Iterable[Path] = ()) -> Path | None:
    """The one rule for where taizhang.toml is, for every command, the daily job and the buttons
    (as git finds its config: the current folder, then each folder above it).

    ``explicit`` (``--config``) if given, and it must exist; else $TAIZHANG_CONFIG (must
    exist); else taizhang.toml in the current folder or the nearest folder above it; else in
    each of ``near`` (the buttons pass the workbench's folder and the one above); else, in a
    checkout, beside run_daily.py. None: no file (the caller falls back to the demo, and says so).
    """
    for given, what in ((explicit, "--config"), (os.environ.get(CONFIG_ENV), f"环境变量 {CONFIG_ENV}")):
        if given:
            path = Path(given).expanduser()
            if not path.is_file():
                raise ConfigError(f"找不到配置文件“{path}”（{what} 指定的）。请检查路径，"
                                  "或去掉该设置以使用当前文件夹（或上级文件夹）中的 taizhang.toml。")
            return path
    for folder in (*folders_up(Path.cwd()), *near, *checkout_folder()):
        candidate = Path(folder) / CONFIG_NAME
        if candidate.is_file():
            return candidate
    return None


def folders_up(start: Path) -> list[Path]:
    """``start`` and every folder above it, nearest first (where taizhang.toml is looked for)."""
    start = Path(start).absolute()
    return [start, *start.parents]


def checkout_folder() -> tuple[Path, ...]:
    """The source folder beside run_daily.py, in a checkout; nothing when installed (never
    site-packages)."""
    return (PROJECT_ROOT,) if (PROJECT_ROOT / "run_daily.py").is_file() else ()


def daily_command() -> str:
    """The command line of the daily job here, for Task Scheduler (`taizhang doctor` names it):
    the ``taizhang`` program the package installed beside this Python, else, in a checkout,
    ``python run_daily.py``."""
    script = Path(sys.executable).with_name("taizhang.exe" if os.name == "nt" else "taizhang")
    if script.is_file():
        return f'"{script}" daily --once --if-due'
    if (PROJECT_ROOT / "run_daily.py").is_file():
        return f'"{sys.executable}" "{PROJECT_ROOT / "run_daily.py"}" --once --if-due'
    return "taizhang daily --once --if-due"


def read_config(path: Path | str) -> Config:
    """Read one taizhang.toml, strictly; paths it omits, and relative ones, are in its folder.

    An unknown section or key, a key at the wrong level, a value of the wrong kind or a
    Windows path in double quotes is a ConfigError naming the file, the line and the key.
    """
    path = Path(path)
    data = parse_toml(path)
    check_known(path, data, known_keys())
    base = path.parent.absolute()
    paths = data.get("paths", {})
    cfg = Config.rooted(base, source=path)
    for key in PATH_KEYS:
        if key in paths:
            setattr(cfg, key, _path(base, paths[key]))
    _read_daily(cfg, data.get("daily", {}), path)
    _read_section(cfg.mail, "mail", data.get("mail", {}), path)
    _read_section(cfg.serve, "serve", data.get("serve", {}), path)
    return cfg


def known_keys() -> dict[str, tuple[str, ...]]:
    """Every section of taizhang.toml and the keys it may hold."""
    # [daily] remind (催报 weekdays) is read by issue 12's reminders, merged beside this branch
    return {"paths": PATH_KEYS, "daily": ("time", "as_of", "remind"),
            "mail": tuple(f.name for f in fields(MailConfig)),
            "serve": tuple(f.name for f in fields(ServeConfig))}


def demo_home() -> Path:
    """Where the demo keeps its inbox, archive, state, settings and master: never an office's.

    In a checkout, ``workbooks/demo/`` (ignored by git); when installed (no writable
    ``workbooks/`` beside the package), a per-user folder: %LOCALAPPDATA%\\taizhang\\demo on
    Windows, $XDG_DATA_HOME/taizhang/demo (~/.local/share) elsewhere. $TAIZHANG_DEMO_HOME,
    when set, overrides both.
    """
    if os.environ.get(DEMO_HOME_ENV):
        return Path(os.environ[DEMO_HOME_ENV]).expanduser()
    if WORKBOOKS.is_dir() and (PROJECT_ROOT / "run_daily.py").is_file() and os.access(WORKBOOKS, os.W_OK):
        return WORKBOOKS / "demo"
    return user_folder("data") / "demo"


def user_folder(kind: str) -> Path:
    """This user's own folder of the toolkit, outside any office: ``kind`` "data" is
    %LOCALAPPDATA%\\taizhang on Windows, $XDG_DATA_HOME/taizhang (~/.local/share) elsewhere;
    "cache" is %LOCALAPPDATA%\\taizhang\\cache, $XDG_CACHE_HOME/taizhang (~/.cache)."""
    if sys.platform == "win32" and os.environ.get("LOCALAPPDATA"):
        base = Path(os.environ["LOCALAPPDATA"]) / "taizhang"
        return base / "cache" if kind == "cache" else base
    xdg, default = {"data": ("XDG_DATA_HOME", Path.home() / ".local" / "share"),
                    "cache": ("XDG_CACHE_HOME", Path.home() / ".cache")}[kind]
    return Path(os.environ.get(xdg) or default) / "taizhang"


def _read_daily(cfg: Config, daily: dict, path: Path) -> None:
    if "time" in daily:
        cfg.daily_time = str(daily["time"])
    if "remind" in daily:
        cfg.daily_remind = parse_weekdays(daily["remind"], path)
    if daily.get("as_of"):
        try:
            cfg.as_of = date.fromisoformat(str(daily["as_of"]))
        except ValueError as e:
            raise ConfigError(f"配置文件 {path} 中 [daily] as_of 的值“{daily['as_of']}”不是日期"
                              "（应写作 2010-10-20）。") from e


_WEEKDAYS = {**{w: n for n, w in enumerate("一二三四五六日")}, "天": 6,
             **{w: n for n, w in enumerate(("mon", "tue", "wed", "thu", "fri", "sat", "sun"))}}


def parse_weekdays(value: object, path: Path | str = CONFIG_NAME) -> tuple[int, ...]:
    """[daily] remind: ["周一", "周四"], "周一、周四", ["mon", "thu"] or [1, 4] -> (0, 3)."""
    items = value if isinstance(value, list) else re.split(r"[\s,，、;；]+", str(value))
    days = []
    for item in items:
        word = str(item).strip().lower()
        if not word:
            continue
        key = re.sub(r"^(周|星期|礼拜)", "", word)[:3]
        n = int(key) - 1 if key.isdigit() and 1 <= int(key) <= 7 else _WEEKDAYS.get(key)
        if n is None:
            raise ConfigError(f"配置文件 {path} 中 [daily] remind 的“{item}”不是星期几。"
                              "请写作 remind = [\"周一\", \"周四\"]（也可写 1–7，1 为周一）。")
        days.append(n)
    return tuple(sorted(set(days)))


def _read_section(target, name: str, values: dict, path: Path) -> None:
    """[mail] or [serve]: each key into its dataclass field, as that field's kind."""
    for key, value in values.items():
        if key in ("password", "smtp_password"):
            raise ConfigError("配置文件中不得写邮箱密码：请把密码放在环境变量中，"
                              "并在 [mail] password_env 写该变量名。")
        kind = type(getattr(target, key))
        try:
            setattr(target, key, kind(value))
        except (TypeError, ValueError) as e:
            want = {int: "整数", float: "数字", bool: "true 或 false"}.get(kind, "文字")
            raise ConfigError(f"配置文件 {path} 中 [{name}] {key} 的值“{value}”不对，应写{want}。") from e
