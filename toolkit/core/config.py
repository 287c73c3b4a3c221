"""What an administrator sets up: paths, the daily time, the mail server.

Read from ``taizhang.toml`` (in the current folder, or the path in the
environment variable TAIZHANG_CONFIG). Every key has a working default, so
with no file at all the toolkit runs the bundled demo.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from toolkit.core.errors import TaizhangError

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - 3.10
    import tomli as tomllib  # type: ignore[no-redef]

PROJECT_ROOT = Path(__file__).resolve().parents[2]
WORKBOOKS = PROJECT_ROOT / "workbooks"
DEMO_INBOX = WORKBOOKS / "demo_inbox"
DEMO_AS_OF = date(2010, 10, 20)   # a morning of the 督导检查 phase: the demo's fixed date
# Folders the toolkit itself writes beside workbooks; never read back as submissions.
BACKUP_DIR = "备份"          # originals kept before an in-place fill
HISTORY_DIR = "历史版本"     # previous masters
OWN_FOLDERS = (BACKUP_DIR, HISTORY_DIR)


class ConfigError(TaizhangError):
    """A problem in taizhang.toml; the message is Chinese and names the key."""


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
class Config:
    inbox: Path = DEMO_INBOX
    master: Path = WORKBOOKS / "output" / "总台账.xlsx"
    archive: Path = WORKBOOKS / "archive"
    logs: Path = WORKBOOKS / "logs"
    state: Path = WORKBOOKS / "state"
    settings_workbook: Path = WORKBOOKS / "设置.xlsx"
    annotated: Path = WORKBOOKS / "output" / "批注副本"
    daily_time: str = "07:30"
    as_of: date | None = None          # None = today; the demo pins DEMO_AS_OF
    mail: MailConfig = field(default_factory=MailConfig)
    source: Path | None = None

    @property
    def is_demo(self) -> bool:
        return self.inbox.resolve() == DEMO_INBOX.resolve()


def _path(base: Path, value: object) -> Path:
    p = Path(str(value)).expanduser()
    return p if p.is_absolute() else (base / p)


def load_config(path: Path | str | None = None) -> Config:
    """Load taizhang.toml; missing file -> defaults (the demo)."""
    if path is None:
        env = os.environ.get("TAIZHANG_CONFIG")
        path = Path(env) if env else Path.cwd() / "taizhang.toml"
    path = Path(path)
    cfg = Config()
    if not path.exists():
        if cfg.is_demo:
            cfg.as_of = DEMO_AS_OF
        return cfg
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
        raise ConfigError(f"配置文件 {path} 无法读取：{e}。请检查格式（TOML，UTF-8 编码）。") from e
    base = path.parent
    paths = data.get("paths", {})
    for key in ("inbox", "master", "archive", "logs", "state", "settings_workbook", "annotated"):
        if key in paths:
            setattr(cfg, key, _path(base, paths[key]))
    daily = data.get("daily", {})
    if "time" in daily:
        cfg.daily_time = str(daily["time"])
    if "as_of" in daily and daily["as_of"]:
        try:
            cfg.as_of = date.fromisoformat(str(daily["as_of"]))
        except ValueError as e:
            raise ConfigError(f"配置文件 {path} 中 [daily] as_of 的值“{daily['as_of']}”不是日期"
                              "（应写作 2010-10-20）。") from e
    elif cfg.is_demo:
        cfg.as_of = DEMO_AS_OF
    mail = data.get("mail", {})
    for key, value in mail.items():
        if key in ("password", "smtp_password"):
            raise ConfigError("配置文件中不得写邮箱密码：请把密码放在环境变量中，"
                              "并在 [mail] password_env 写该变量名。")
        if not hasattr(cfg.mail, key):
            raise ConfigError(f"配置文件 {path} 的 [mail] 中有不认识的设置“{key}”。")
        setattr(cfg.mail, key, type(getattr(cfg.mail, key))(value))
    cfg.source = path
    return cfg
