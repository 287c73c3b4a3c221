"""`taizhang` commands: a thin click layer over the toolkit's functions.

Every command is a few lines that parse options, call one public function and
print its result. No command ever shows a traceback to a clerk: unexpected
errors are logged and reported in Chinese with exit code 2.
"""
from __future__ import annotations

import logging
import sys
from datetime import date

import click

log = logging.getLogger("taizhang")


def _console_safe() -> None:
    """GBK consoles on Windows cannot print every character: replace, never crash."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="replace")  # type: ignore[attr-defined]
        except (AttributeError, ValueError):
            pass


class DateParam(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        if isinstance(value, date):
            return value
        from toolkit.core.dates import parse_date_text
        d = parse_date_text(str(value))
        if d is None:
            self.fail(f"“{value}”不是有效日期，请写作 2010-10-20。", param, ctx)
        return d


DATE = DateParam()


class _ChineseHelp(click.HelpFormatter):
    """`-h` pages in Chinese: click writes its headings in English."""

    _HEADINGS = {"Options": "选项", "Commands": "命令", "Arguments": "参数"}

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, prefix="用法：")

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{self._HEADINGS.get(heading, heading)}：\n")


class _Context(click.Context):
    formatter_class = _ChineseHelp


class _ChineseHelpOption:
    context_class = _Context

    def get_help_option(self, ctx):
        opt = super().get_help_option(ctx)  # type: ignore[misc]
        if opt is not None:
            opt.help = "显示本说明并退出。"
        return opt


class _Command(_ChineseHelpOption, click.Command):
    pass


class _Group(_ChineseHelpOption, click.Group):
    command_class = _Command


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="taizhang", message="%(prog)s %(version)s",
                      help="显示版本号并退出。")
def cli() -> None:
    """信访积案台账工具：校验村级台账、计算办结期限、汇总乡级总台账。"""


def _settings(path):
    """Clerk settings from the settings workbook (default location when None)."""
    from toolkit.core.settings_workbook import load_settings
    return load_settings(path)


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=True))
@click.option("--as-of", "as_of", type=DATE, default=None, help="核对日期（默认今天）")
@click.option("--json", "as_json", is_flag=True, help="输出一个 JSON 对象（供程序使用）")
@click.option("--report", type=click.Path(dir_okay=False), help="把问题清单写入这个 Excel 文件")
@click.option("--annotate", type=click.Path(file_okay=False),
              help="在此文件夹为每个文件生成标注了问题单元格的副本（发回给村里）")
@click.option("--settings", "settings_path", type=click.Path(dir_okay=False), default=None,
              help="设置工作簿（默认 workbooks/设置.xlsx）")
def validate(paths, as_of, as_json, report, annotate, settings_path):
    """校验村级台账：逐个文件列出问题（文件、工作表、单元格）。

    PATHS 可以是文件或文件夹。退出码：0 无错误，1 有错误，2 有文件无法读取。
    """
    import json
    from pathlib import Path

    from toolkit.validation.rules import exit_code, validate_paths

    as_of = as_of or date.today()
    ledgers = validate_paths([Path(p) for p in paths], as_of=as_of, settings=_settings(settings_path))
    if report:
        from toolkit.outputs.report import write_issue_report
        write_issue_report(Path(report), ledgers)
    annotated = []
    if annotate:
        from toolkit.outputs.fill import annotate_file
        from toolkit.outputs.writeback import WritebackError
        for lg in ledgers:
            if lg.readable and lg.issues:
                try:
                    annotated.append(annotate_file(lg, Path(annotate)))
                except WritebackError as e:
                    click.echo(f"{Path(lg.path).name}：标注副本未生成。{e}", err=True)
    if as_json:
        click.echo(json.dumps({"files": [lg.to_dict() for lg in ledgers]}, ensure_ascii=False,
                              default=str))
    else:
        from toolkit.outputs.report import format_text_report
        click.echo(format_text_report(ledgers))
        if report:
            click.echo(f"问题清单已写入：{report}")
        for p in annotated:
            click.echo(f"标注副本：{p}")
    return exit_code(ledgers)


@cli.command()
@click.argument("start", type=DATE)
@click.option("--workdays", type=click.IntRange(0, 3650), default=None,
              help="第 N 个工作日（不含起算日，按法定节假日和调休）")
@click.option("--days", type=click.IntRange(0, 3650), default=None,
              help="N 个日历日（末日逢法定节假日顺延至节后第一天）")
@click.option("--settings", "settings_path", type=click.Path(dir_okay=False), default=None,
              help="设置工作簿（默认 workbooks/设置.xlsx），其“节假日”表可补充年份")
@click.pass_context
def deadline(ctx, start, workdays, days, settings_path):
    """推算期限：第一行只输出日期（YYYY-MM-DD），其后几行说明经过的节假日和调休。

    例：taizhang deadline 2010-07-01 --workdays 60
    """
    from toolkit.compute.calendar import CalendarYearMissing, calendar_for, deadline_lines
    from toolkit.core.settings_workbook import SettingsError

    if (workdays is None) == (days is None):
        click.echo("请在 --workdays N 和 --days N 中选一个（只选一个）。", err=True)
        ctx.exit(2)
    try:
        cal = calendar_for(_settings(settings_path))
        lines = deadline_lines(cal, start, workdays=workdays, days=days)
    except (CalendarYearMissing, SettingsError) as e:
        click.echo(str(e), err=True)
        ctx.exit(2)
    for line in lines:
        click.echo(line)


@cli.command("settings")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="写到这个文件（默认 workbooks/设置.xlsx）")
@click.option("--force", is_flag=True, help="文件已存在时也覆盖（原文件先备份）")
@click.option("--no-demo", is_flag=True, help="村名册留空（不带演示村）")
@click.pass_context
def settings_cmd(ctx, out, force, no_demo):
    """生成设置工作簿（默认的 2010 年活动设置和演示村名册），供乡信访办修改。"""
    from pathlib import Path

    from toolkit.core.settings_workbook import SettingsError, create_settings_workbook

    if out is None:
        from toolkit.core.config import load_config
        out = load_config().settings_workbook
    try:
        path, backup = create_settings_workbook(Path(out), force=force, demo=not no_demo)
    except SettingsError as e:
        click.echo(str(e), err=True)
        ctx.exit(2)
    if backup:
        click.echo(f"原文件已备份为：{backup}")
    click.echo(f"设置工作簿已生成：{path}")


@cli.command()
@click.argument("inbox", type=click.Path(exists=True, file_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="总台账文件（默认 taizhang.toml 中的 master，即 workbooks/output/总台账.xlsx）")
@click.option("--as-of", "as_of", type=DATE, default=None, help="汇总日期（默认今天）")
@click.option("--json", "as_json", is_flag=True, help="只输出一个 JSON 对象（供程序使用）")
@click.option("--settings", "settings_path", type=click.Path(dir_okay=False), default=None,
              help="设置工作簿（默认 workbooks/设置.xlsx）")
def consolidate(inbox, out, as_of, as_json, settings_path):
    """汇总乡级总台账：读取 INBOX 中各村台账（及已存档的邮件报送），写出总台账。

    退出码：0 总台账已写出（被拒收的文件会列出），1 未能写出。
    """
    import json
    from pathlib import Path

    from toolkit.core.config import ConfigError, load_config
    from toolkit.pipeline.consolidate import ConsolidationError, ConsolidationResult, StageProgress, run_configured
    from toolkit.core.settings_workbook import SettingsError

    try:
        cfg = load_config()
        settings = _settings(settings_path or cfg.settings_workbook)
        if as_json or not sys.stderr.isatty():
            result = run_configured(cfg, settings, inbox=Path(inbox), out=out and Path(out), as_of=as_of)
        else:
            with click.progressbar(length=StageProgress.STEPS, label="汇总", file=sys.stderr,
                                   show_percent=True, item_show_func=lambda s: s) as bar:
                result = run_configured(cfg, settings, inbox=Path(inbox), out=out and Path(out),
                                        as_of=as_of, progress=StageProgress(bar))
    except (ConsolidationError, SettingsError, ConfigError) as e:
        if as_json:
            empty = ConsolidationResult(master=None, as_of=as_of or date.today()).to_dict()
            click.echo(json.dumps({**empty, "error": str(e)}, ensure_ascii=False))
        click.echo(str(e), err=True)
        return 1
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
        for note in result.notes:
            click.echo(note, err=True)
    else:
        click.echo(result.summary_text())
    return 0 if result.written else 1


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--as-of", "as_of", type=DATE, default=None, help="计算日期（默认今天）")
@click.option("--settings", "settings_path", type=click.Path(dir_okay=False), default=None,
              help="设置工作簿（默认 workbooks/设置.xlsx）")
def fill(files, as_of, settings_path):
    """把办结期限、剩余工作日、预警、检查清单完成情况写回各村台账（原文件先备份）。

    只改台账表中这些计算列的单元格，其余内容（宏、按钮、批注、数据验证、图片等）原样保留。
    退出码：0 全部写入，1 有文件未写入（原因逐个列出）。
    """
    from pathlib import Path

    from toolkit.outputs.fill import fill_files
    from toolkit.core.settings_workbook import SettingsError

    try:
        settings = _settings(settings_path)
    except SettingsError as e:
        click.echo(str(e), err=True)
        return 1
    results = fill_files([Path(f) for f in files], as_of=as_of or date.today(), settings=settings)
    for r in results:
        click.echo(r.message)
    return 0 if all(r.ok for r in results) else 1


@cli.command()
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="写到这个文件（默认当前文件夹下的 村级台账模板.xlsx 或 <村名>台账模板.xlsx）")
@click.option("--village", default=None, help="村（社区）名称：写进标题、填报单位和模板标记")
@click.option("--force", is_flag=True, help="文件已存在时也覆盖")
@click.option("--settings", "settings_path", type=click.Path(dir_okay=False), default=None,
              help="设置工作簿（默认 workbooks/设置.xlsx），取其中的乡镇名称和活动设置")
def template(out, village, force, settings_path):
    """生成村级台账模板（含填表说明、下拉选项、打印设置），发给各村填写。"""
    from pathlib import Path

    from toolkit.core.settings_workbook import SettingsError
    from toolkit.outputs.template import default_template_name, write_template

    village = (village or "").strip() or None
    path = Path(out) if out else Path.cwd() / default_template_name(village)
    if path.suffix.lower() != ".xlsx":
        click.echo(f"模板只能保存为 .xlsx 文件：{path}", err=True)
        return 2
    if path.exists() and not force:
        click.echo(f"文件已存在：{path}。如要覆盖请加 --force，或用 --out 换一个文件名。", err=True)
        return 1
    try:
        campaign = _settings(settings_path).campaign
    except SettingsError as e:
        click.echo(str(e), err=True)
        return 2
    path.parent.mkdir(parents=True, exist_ok=True)
    write_template(path, village=village, campaign=campaign)
    click.echo(f"台账模板已生成：{path}" + (f"（{village}）" if village else ""))
    return 0


@cli.command()
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="写到这个文件夹（默认 workbooks/demo_inbox）")
@click.option("--force", is_flag=True, help="文件夹里已有其他表格时也写入")
def demo(out, force):
    """生成演示收件箱：7 个村（社区）的台账，含各种真实写法和几处典型错误。"""
    from pathlib import Path

    from toolkit.core.config import DEMO_AS_OF, DEMO_INBOX
    from toolkit.samples import DEMO_DAMAGED, DEMO_EARLIER_FILE, build_demo_inbox, demo_filenames

    folder = Path(out) if out else DEMO_INBOX
    if folder.exists() and not force:
        others = [p.name for p in folder.iterdir() if p.suffix.lower() in (".xlsx", ".xlsm", ".xls")
                  and p.name not in demo_filenames()]
        if others:
            click.echo(f"文件夹 {folder} 里已有其他表格（{'、'.join(others[:3])}等），"
                       "为免混入演示数据，请换一个文件夹，或加 --force。", err=True)
            return 1
    ledgers = build_demo_inbox(folder)
    for lg in ledgers:
        click.echo(f"  {lg.village}\t{len(lg.cases)} 件\t{lg.path.name}")
    click.echo(f"  另有：{DEMO_EARLIER_FILE}（东村上月报送的旧台账，用来演示“案件消失”）、"
               f"{DEMO_DAMAGED[1]}（传输中断的重发件，用来演示“被拒收”）")
    total = sum(len(lg.cases) for lg in ledgers)
    click.echo(f"演示收件箱已生成：{folder}（{len(ledgers)} 个村（社区），{total} 件，"
               f"演示日期 {DEMO_AS_OF:%Y-%m-%d}）")
    return 0


@cli.command()
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="写到这个文件（默认 workbooks/台账工作台.xlsm）")
@click.option("--interpreter", default="python",
              help=r"写进 xlwings.conf 的 Python 路径，如 C:\taizhang\.venv\Scripts\pythonw.exe")
@click.option("--pythonpath", default="", help="写进 xlwings.conf 的 PYTHONPATH（工具包所在文件夹）")
@click.option("--server", default="", help="乡里服务器地址（taizhang serve），写了按钮就发给服务器处理")
def workbench(out, interpreter, pythonpath, server):
    """生成带按钮的台账工作台（.xlsm）：校验本表、计算期限、一键汇总。"""
    from pathlib import Path

    from toolkit.shells.workbench import WORKBENCH, ConfOptions, build_workbench

    path = Path(out) if out else WORKBENCH
    if path.suffix.lower() != ".xlsm":
        click.echo(f"工作台必须保存为 .xlsm 文件（含宏）：{path}", err=True)
        return 2
    try:
        build_workbench(path, options=ConfOptions(interpreter, pythonpath, server))
    except RuntimeError as e:
        click.echo(str(e), err=True)
        return 2
    click.echo(f"台账工作台已生成：{path}（按钮：校验本表、计算期限、一键汇总、检查安装）")
    return 0


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址（默认只接受本机）")
@click.option("--port", type=click.IntRange(1, 65535), default=8765, show_default=True)
@click.option("--token-env", default="TAIZHANG_SERVE_TOKEN", show_default=True,
              help="存放口令的环境变量名（口令不写在命令行里）")
def serve(host, port, token_env):
    """为没有 Python 的电脑提供按钮服务（xlwings RunRemotePython）。"""
    from toolkit.shells.server import ServeError, is_loopback, make_server

    try:
        server = make_server(host, port, token_env=token_env)
    except (ServeError, OSError) as e:
        click.echo(f"服务器未能启动：{e}", err=True)
        return 2
    if not is_loopback(host):
        click.echo(f"注意：正在监听 {host}，局域网内的电脑都能访问。口令以明文 HTTP 传输，"
                   "请只在乡政府内网使用，或在前面加 HTTPS 反向代理。", err=True)
    click.echo(f"按钮服务已启动：http://{host}:{server.server_address[1]}/（Ctrl+C 停止）")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("按钮服务已停止。")
    finally:
        server.server_close()
    return 0


@cli.command("fetch-mail")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), default=None,
              help="配置文件（默认当前文件夹的 taizhang.toml）")
@click.option("--json", "as_json", is_flag=True, help="只输出一个 JSON 对象（供程序使用）")
def fetch_mail_cmd(config_path, as_json):
    """收取各村邮件报送的台账：存档、校验、按发件人确定村，并给发件人回执。

    退出码：0 全部接收；1 有暂存待核、拒收、未处理的附件或发送失败；2 连不上邮箱或配置有误。
    """
    import json

    from toolkit.core.config import ConfigError, load_config
    from toolkit.core.settings_workbook import SettingsError

    try:
        cfg = load_config(config_path)
        if not cfg.mail.enabled:
            raise ConfigError(f"没有配置收件邮箱：请在 {cfg.source or 'taizhang.toml'} 的 [mail] 中"
                              "填写 host、user 等（见 README“邮件报送”）。")
        settings = _settings(cfg.settings_workbook)
    except (ConfigError, SettingsError) as e:
        click.echo(json.dumps({"error": str(e), "exit_code": 2}, ensure_ascii=False) if as_json
                   else str(e), err=not as_json)
        return 2
    from toolkit.pipeline.mail import fetch_mail
    result = fetch_mail(cfg, settings)
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        click.echo(result.summary_text(), err=result.exit_code == 2)
    return result.exit_code


def usage_message(e: click.UsageError) -> str:
    """click's usage errors in Chinese (click itself speaks English), with where to get help."""
    cmd = e.ctx.command_path if e.ctx else "taizhang"
    name = ""
    param = getattr(e, "param", None)
    if param is not None:
        name = _ARGUMENT_WORDS.get(param.name) or "、".join(param.opts) or param.human_readable_name
    if isinstance(e, click.MissingParameter):
        what = f"缺少{name or '必需的参数'}"
    elif isinstance(e, click.NoSuchOption):
        what = f"没有“{e.option_name}”这个选项"
        if e.possibilities:
            what += f"，是不是想写“{'”或“'.join(sorted(e.possibilities))}”？"
    elif isinstance(e, click.BadParameter):
        what = f"“{name}”的值不对：{_chinese_detail(e.message)}"
    elif isinstance(e, click.BadOptionUsage):
        what = f"选项“{e.option_name}”用法不对"
    elif "No such command" in e.message:
        what = f"没有这个命令（{e.message.split(chr(39))[1] if chr(39) in e.message else e.message}）"
    else:
        what = e.message
    what = what.rstrip("。.")
    end = "" if what.endswith("？") else "。"
    return f"命令写得不对：{what}{end}\n请运行 {cmd} -h 查看用法和示例。"


# What a command's positional arguments are, in the words of its help text.
_ARGUMENT_WORDS = {"paths": "要检查的文件或文件夹", "files": "要处理的台账文件", "inbox": "收件箱文件夹",
                   "start": "起算日期"}


def _chinese_detail(message: str) -> str:
    if " does not exist" in message:
        return f"找不到 {message.split(chr(39))[1] if chr(39) in message else message}，请检查路径"
    if " is a directory" in message:
        return "这里要写文件，不是文件夹"
    if " is a file" in message:
        return "这里要写文件夹，不是文件"
    if "is not a valid integer" in message or "is not in the range" in message:
        return "要写一个合适的整数"
    return message


def _log_unexpected() -> str:
    """Keep the traceback for support in the log file (never on a clerk's screen)."""
    try:
        from toolkit.core.config import load_config
        from toolkit.shells.daily import setup_logging
        path = setup_logging(load_config().logs, "taizhang.log")
        log.exception("unexpected error")
        return str(path)
    except Exception:  # a broken config or a read-only folder must not hide the first error
        return "（日志无法写入）"


def _explains_itself(e: Exception) -> bool:
    """Errors whose message is already a Chinese sentence telling the clerk what to do."""
    from toolkit.compute.calendar import CalendarYearMissing
    from toolkit.core.config import ConfigError
    from toolkit.core.settings_workbook import SettingsError
    return isinstance(e, (ConfigError, SettingsError, CalendarYearMissing))


def main(argv: list[str] | None = None) -> int:
    _console_safe()
    try:
        rv = cli.main(args=argv, prog_name="taizhang", standalone_mode=False)
        return int(rv or 0)
    except click.exceptions.Abort:
        click.echo("已取消。", err=True)
        return 2
    except click.UsageError as e:
        click.echo(usage_message(e), err=True)
        return 2
    except click.ClickException as e:
        e.show()
        return 2 if e.exit_code not in (0, 1) else e.exit_code or 2
    except KeyboardInterrupt:
        click.echo("已中断。", err=True)
        return 2
    except Exception as e:  # never a traceback to a clerk
        if _explains_itself(e):
            click.echo(str(e), err=True)
            return 2
        where = _log_unexpected()
        click.echo(f"出现意外错误：{e}。请把本条信息、所用文件和日志 {where} 发给技术支持。", err=True)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
