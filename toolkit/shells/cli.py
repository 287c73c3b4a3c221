"""`taizhang` commands: a thin click layer over the toolkit's functions.

Every command is a few lines that parse options, call one public function and
print its result. No command ever shows a traceback to a clerk: unexpected
errors are logged and reported in Chinese with exit code 2.
"""
from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from toolkit import api
from toolkit.core.config import EVERY_ADDRESS, http_address
from toolkit.core.dates import when_text
from toolkit.core.errors import EXIT_CANNOT_RUN, TaizhangError
from toolkit.core.logs import clerk_message
from toolkit.shells.clickbase import (DATE, Group, config_option, console_safe, echo_json, settings_option,
                                      usage_message)

__all__ = ["cli", "main", "console_safe"]


@click.group(cls=Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="taizhang", message="%(prog)s %(version)s",
                      help="显示版本号并退出。")
def cli() -> None:
    """信访积案台账工具：校验村级台账、计算办结期限、汇总乡级总台账。"""


@cli.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=True))
@click.option("--as-of", "as_of", type=DATE, default=None,
              help="核对日期（默认 taizhang.toml 的 [daily] as_of，未设则今天）")
@click.option("--json", "as_json", is_flag=True, help="输出一个 JSON 对象（供程序使用）")
@click.option("--report", type=click.Path(dir_okay=False), help="把问题清单写入这个 Excel 文件")
@click.option("--annotate", type=click.Path(file_okay=False),
              help="在此文件夹为每个文件生成标注了问题单元格的副本（发回给村里）")
@click.option("--errors-only", is_flag=True, help="只列出有错误或无法读取的文件（文件多时用）")
@settings_option
@config_option
def validate(paths, as_of, as_json, report, annotate, errors_only, settings_path, config_path):
    """校验村级台账：逐个文件列出问题（文件、工作表、单元格）。

    PATHS 可以是文件或文件夹。退出码：0 无错误，1 有错误，2 有文件无法读取。
    """
    ledgers = api.validate(paths, as_of=as_of, settings=settings_path, config=config_path)
    if report:
        api.write_report(report, ledgers)
    annotated = api.annotate(ledgers, annotate) if annotate else []
    for lg, got in annotated:
        if isinstance(got, str):
            click.echo(f"{Path(lg.path).name}：标注副本未生成。{got}", err=True)
    if as_json:
        echo_json({"files": [lg.to_dict() for lg in ledgers]})
    else:
        click.echo(api.validation_text(ledgers, errors_only=errors_only))
        if report:
            click.echo(f"问题清单已写入：{report}")
        for _, got in annotated:
            if not isinstance(got, str):
                click.echo(f"标注副本：{got}")
    return api.validation_exit_code(ledgers)


@cli.command()
@click.argument("start", type=DATE)
@click.option("--workdays", type=click.IntRange(0, 3650), default=None,
              help="第 N 个工作日（不含起算日，按法定节假日和调休）")
@click.option("--days", type=click.IntRange(0, 3650), default=None,
              help="N 个日历日（末日逢法定节假日顺延至节后第一天）")
@settings_option
@config_option(notice="settings")
def deadline(start, workdays, days, settings_path, config_path):
    """推算期限：第一行只输出日期（YYYY-MM-DD），其后几行说明经过的节假日和调休。

    例：taizhang deadline 2010-07-01 --workdays 60
    """
    if (workdays is None) == (days is None):
        raise click.UsageError("请在 --workdays N 和 --days N 中选一个（只选一个）")
    result = api.deadline(start, workdays=workdays, days=days, settings=settings_path, config=config_path)
    for line in result.lines:
        click.echo(line)


@cli.command("settings")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="写到这个文件（默认 taizhang.toml 中的 settings_workbook，即 taizhang.toml 旁的 设置.xlsx）")
@click.option("--year", type=click.IntRange(2000, 2100), default=None,
              help="活动年份：各阶段日期、积案截止日期按这一年排（默认今年，或 taizhang.toml 的 [daily] as_of 那一年）")
@click.option("--township", default=None, help="乡镇名称（写进总台账、催报单和模板的标题）")
@click.option("--force", is_flag=True, help="文件已存在时也覆盖（原文件先备份到“备份”文件夹）")
@click.option("--demo", "with_demo", is_flag=True,
              help="示例：南郊乡 2010 年的活动和演示的 8 个村（默认是本乡本年的活动，村名册留空）")
@click.option("--no-demo", is_flag=True, hidden=True)     # the old default; kept so scripts keep working
@config_option(notice="none")
def settings_cmd(out, year, township, force, with_demo, no_demo, config_path):
    """生成设置工作簿：本乡本次活动的阶段和日期、积案截止日期、办结工作日数，村名册留空，供乡信访办修改。

    默认写到 taizhang.toml 中的 settings_workbook（未写则在 taizhang.toml 同一文件夹；没有 taizhang.toml
    时在当前文件夹）。例：taizhang settings --year 2026 --township 南郊乡
    """
    township = (township or "").strip() or None
    path, backup = api.write_settings(out, force=force, demo=with_demo and not no_demo, config=config_path,
                                      year=year, township=township)
    if backup:
        click.echo(f"原文件已备份为：{backup}")
    camp = api.load_settings(path, config=config_path).campaign
    phases = "、".join(f"{p.name} {p.start:%m-%d}至{p.end:%m-%d}" for p in camp.phases)
    click.echo(f"设置工作簿已生成：{path}")
    click.echo(f"活动：{camp.name}（{phases}）；积案截止日期 {camp.cutoff.isoformat()}；"
               f"办结期限为交办后第 {camp.workdays} 个工作日。")
    todo = "请在“活动设置”表中按本乡本次活动的文件核对这些日期"
    if api.is_placeholder_township(camp.township):
        todo += "，填写乡镇名称"
    click.echo(f"{todo}，并在“村名册”表中登记各村（社区）。改完运行 taizhang doctor 检查。")
    if api.load_config(config_path).demo and not out:
        click.echo("这个文件夹里还没有 taizhang.toml：在这里建一个（可以是空文件，见 taizhang guide“管理员配置”），"
                   "工具才会用这份设置和这个文件夹。")
    return 0


@cli.command()
@click.argument("inbox", required=False, type=click.Path(exists=True, file_okay=False))
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="总台账文件（默认 taizhang.toml 中的 master，即 taizhang.toml 旁的 输出/总台账.xlsx）")
@click.option("--as-of", "as_of", type=DATE, default=None,
              help="汇总日期（默认 taizhang.toml 的 [daily] as_of；未设时今天，演示收件箱按演示日期）")
@click.option("--json", "as_json", is_flag=True, help="只输出一个 JSON 对象（供程序使用）")
@settings_option
@config_option
def consolidate(inbox, out, as_of, as_json, settings_path, config_path):
    """汇总乡级总台账：读取 INBOX（默认 taizhang.toml 中的 inbox）中各村台账及已存档的邮件报送，写出总台账。

    退出码：0 总台账已写出（被拒收的文件会列出），1 未能写出（如另一汇总正在进行），2 配置或设置有误。
    """
    run = functools.partial(api.consolidate, inbox, out, as_of=as_of, settings=settings_path,
                            config=config_path)
    try:
        if as_json or not sys.stderr.isatty():
            result = run()
        else:
            with click.progressbar(length=StageProgress.STEPS, label="汇总", file=sys.stderr,
                                   show_percent=True, item_show_func=lambda s: s) as bar:
                result = run(progress=StageProgress(bar))
    except TaizhangError as e:
        if not as_json:
            raise
        echo_json(api.consolidation_failed(e, as_of=as_of))
        click.echo(str(e), err=True)
        return e.exit_code
    if as_json:
        echo_json(result.to_dict())
        for note in result.notes:
            click.echo(note, err=True)
    else:
        click.echo(result.summary_text())
    return result.exit_code


class StageProgress:
    """Turns (stage, done, total) reports into steps of one overall bar (click.progressbar)."""
    STEPS = 1000
    WEIGHTS = {"登记来件": 0.1, "读取台账": 0.5, "校验": 0.1, "计算期限": 0.05, "整理总台账": 0.05,
               "写入总台账": 0.2}

    def __init__(self, bar) -> None:
        self.bar, self.shown = bar, 0
        names = list(self.WEIGHTS)
        self.start = {n: sum(self.WEIGHTS[m] for m in names[:i]) for i, n in enumerate(names)}

    def __call__(self, stage: str, done: int, total: int) -> None:
        frac = self.start.get(stage, 0) + self.WEIGHTS.get(stage, 0) * (done / total if total else 1)
        target = int(frac * self.STEPS)
        if target > self.shown:
            self.bar.update(target - self.shown, stage)
            self.shown = target




@cli.command()
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="简报 PDF 文件（默认总台账旁的 总台账_简报.pdf）")
@click.option("--as-of", "as_of", type=DATE, default=None,
              help="汇总日期（默认 taizhang.toml 的 [daily] as_of；未设时今天，演示收件箱按演示日期）")
@settings_option
@config_option
def brief(out, as_of, settings_path, config_path):
    """给领导的一页简报：先汇总（同 consolidate），再把简报页另存为 PDF（需要 LibreOffice）。

    退出码：0 已写出，1 总台账或 PDF 未能写出，2 配置或设置有误。
    """
    result = api.consolidate(as_of=as_of, settings=settings_path, config=config_path)
    click.echo(result.summary_text())
    if not result.written:
        return 1
    pdf = api.write_brief(result, out, config=config_path)
    click.echo(f"简报已写入：{pdf}（总台账中也有“简报”表）")
    return 0


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--as-of", "as_of", type=DATE, default=None,
              help="计算日期（默认 taizhang.toml 的 [daily] as_of，未设则今天）")
@settings_option
@config_option
def fill(files, as_of, settings_path, config_path):
    """把办结期限、剩余工作日、预警、检查清单完成情况写回各村台账（原文件先备份）。

    只改台账表中这些计算列的单元格，其余内容（宏、按钮、批注、数据验证、图片等）原样保留。
    退出码：0 全部写入，1 有文件未写入（原因逐个列出），2 配置或设置有误。
    """
    results = api.fill(files, as_of=as_of, settings=settings_path, config=config_path)
    for r in results:
        click.echo(r.message)
    return 0 if all(r.ok for r in results) else 1


@cli.command()
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="写到这个文件（默认当前文件夹下的 村级台账模板.xlsx 或 <村名>台账模板.xlsx）")
@click.option("--village", default=None, help="村（社区）名称：写进标题、填报单位和模板标记")
@click.option("--force", is_flag=True, help="文件已存在时也覆盖")
@settings_option
@config_option
def template(out, village, force, settings_path, config_path):
    """生成村级台账模板（含填表说明、下拉选项、打印设置），发给各村填写。"""
    village = (village or "").strip() or None
    path = Path(out) if out else api.template_path(village)
    if path.suffix.lower() != ".xlsx":
        raise click.UsageError(f"模板只能保存为 .xlsx 文件：{path}")
    if path.exists() and not force:
        raise click.UsageError(f"文件已存在：{path}。如要覆盖请加 --force，或用 --out 换一个文件名")
    api.write_template(path, village=village, settings=settings_path, config=config_path)
    click.echo(f"台账模板已生成：{path}" + (f"（{village}）" if village else ""))
    return 0


@cli.command()
@click.option("--out", type=click.Path(file_okay=False), default=None,
              help="写到这个文件夹（默认演示文件夹中的收件箱，见 taizhang doctor）")
@click.option("--force", is_flag=True, help="文件夹里已有其他表格时也写入")
def demo(out, force):
    """恢复演示收件箱：7 个村（社区）的台账（工具自带的原件复制一份），含各种真实写法和几处典型错误。"""
    folder = Path(out) if out else api.DEMO_INBOX
    files = api.restore_demo(folder, force=force)
    counted = [f for f in files if f.counted]
    for f in counted:
        click.echo(f"  {f.village}\t{f.cases} 件\t{f.name}")
    click.echo("  另有：" + "、".join(f"{f.name}（{f.note}）" for f in files if not f.counted))
    click.echo(f"演示收件箱已恢复：{folder}（{len(counted)} 个村（社区），{sum(f.cases for f in counted)} 件，"
               f"演示日期 {api.demo_as_of():%Y-%m-%d}）")
    return 0


@cli.command()
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="写到这个文件（默认 taizhang.toml 所在文件夹；没有 taizhang.toml 时当前文件夹，源代码文件夹中是 workbooks）")
@click.option("--interpreter", default="python",
              help=r"写进 xlwings.conf 的 Python 路径，如 C:\taizhang\.venv\Scripts\pythonw.exe")
@click.option("--pythonpath", default="", help="写进 xlwings.conf 的 PYTHONPATH（工具包所在文件夹）")
@click.option("--server", default="", help="乡里服务器地址（taizhang serve），写了按钮就发给服务器处理")
@config_option(notice="none")
def workbench(out, interpreter, pythonpath, server, config_path):
    """生成带按钮的台账工作台（.xlsm）：校验本表、计算期限、一键汇总。"""
    from toolkit.shells.workbench import ConfOptions, build_workbench, default_workbench

    path = Path(out) if out else default_workbench(api.load_config(config_path))
    if path.suffix.lower() != ".xlsm":
        raise click.UsageError(f"工作台必须保存为 .xlsm 文件（含宏）：{path}")
    build_workbench(path, options=ConfOptions(interpreter, pythonpath, server))
    click.echo(f"台账工作台已生成：{path}（按钮：校验本表、计算期限、一键汇总、检查安装）")
    return 0


@cli.command()
@click.option("--once", is_flag=True, help="立即汇总一次后退出（不加则常驻运行，每天定时汇总）")
@click.option("--if-due", is_flag=True,
              help="与 --once 合用：今天已成功汇总过、或未到每日时间则不汇总（Windows 任务计划用）")
@config_option(notice="none")
def daily(once, if_due, config_path):
    """每日汇总乡级总台账：常驻运行，每天按 taizhang.toml 的 [daily] time（默认 07:30）汇总，开机晚了会补跑；
    配置了邮箱时先收邮件。

    任务计划中写：taizhang daily --once --if-due（起始于放 taizhang.toml 的文件夹）。

    退出码：0 已汇总（或今天不必汇总），1 总台账未写出或另一汇总正在进行，2 配置或设置有误。
    """
    from toolkit.shells.daily import run_daily
    return run_daily(once=once, if_due=if_due, config_path=config_path)


@cli.command()
@click.option("--print", "to_console", is_flag=True, help="不打开浏览器，直接在这里显示使用说明全文")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="把使用说明另存为网页（.html），可拷给别的电脑")
def guide(to_console, out):
    """打开使用说明（随工具安装，不需要源代码文件夹）：默认在浏览器中打开，--print 在这里显示全文。"""
    from tempfile import gettempdir

    from toolkit.shells import guide as G
    if out:
        click.echo(f"使用说明已写入：{G.write_guide_html(out)}")
        return 0
    opened = None if to_console else G.open_guide(Path(gettempdir()) / "taizhang-guide")
    if opened is None:
        click.echo(G.guide_text())
    else:
        click.echo(f"已在浏览器中打开使用说明：{opened}（原文：{G.guide_path()}；加 --print 可直接显示全文）")
    return 0


@cli.command()
@click.option("--host", default=None,
              help="监听地址（默认 taizhang.toml 的 [serve] host；未设则 127.0.0.1，只接受本机）")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="端口（默认 [serve] port，未设则 8765；0：任选一个空闲端口）")
@click.option("--token-env", default="TAIZHANG_SERVE_TOKEN", show_default=True,
              help="存放口令的环境变量名（口令不写在命令行里）")
@config_option(notice="none")
def serve(host, port, token_env, config_path):
    """为没有 Python 的电脑提供按钮服务（xlwings RunRemotePython），以及网页报送：各村用 taizhang links
    发给它们的地址在浏览器里上传台账、当场看核对结果；乡信访办在本机打开 /office 看今日情况。

    服务器只用启动时找到的 taizhang.toml（在放 taizhang.toml 的文件夹中启动，或用 --config 指明）。
    """
    from toolkit.shells.server import ServeError, is_loopback, make_server

    try:
        server = make_server(host, port, token_env=token_env, config=config_path)
    except (ServeError, OSError) as e:
        click.echo(f"服务器未能启动：{e}", err=True)
        return 2
    if server.demo_notice:
        click.echo(f"{server.demo_notice}按钮服务因此也用演示（一键汇总汇总演示收件箱）。")
    bound = server.server_address[0]
    if not is_loopback(bound):
        click.echo(f"注意：正在监听 {bound}，局域网内的电脑都能访问。口令和报送地址以明文 HTTP 传输，"
                   "请只在乡政府内网使用，或在前面加 HTTPS 反向代理。", err=True)
    where = server.config.source or "演示"
    port = server.server_address[1]
    address = http_address(bound, port)
    if is_loopback(bound) or bound in EVERY_ADDRESS:
        office = f"在本机打开 {address if is_loopback(bound) else http_address('127.0.0.1', port)}/office"
    else:
        office = f"服务只在 {bound} 上监听，本机的 127.0.0.1 打不开，请用 taizhang links --office 生成的专用地址打开"
    click.echo(f"按钮服务已启动：{address}/（配置：{where}；Ctrl+C 停止）。各村的网页报送地址见 taizhang links；"
               f"乡信访办情况页：{office}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("按钮服务已停止。")
    finally:
        server.server_close()
    return 0


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="只输出一个 JSON 对象（供程序使用）")
@click.option("--no-connect", is_flag=True, help="不实际连接邮件服务器（只列出邮箱设置）")
@settings_option
@config_option(notice="none")
def doctor(as_json, no_connect, settings_path, config_path):
    """检查安装：用的是哪个配置文件、各文件夹是否存在可写、村名册、节假日年份、邮箱能否连上、每日汇总。

    退出码：0 没有会让每日汇总失败的问题；1 有（逐条列出）；2 配置文件本身有误。
    """
    report = api.doctor(config=config_path, settings=settings_path, connect_mail=not no_connect)
    if as_json:
        echo_json(report.to_dict())
    else:
        click.echo(report.text())
    return report.exit_code


@cli.command("fetch-mail")
@config_option
@click.option("--json", "as_json", is_flag=True, help="只输出一个 JSON 对象（供程序使用）")
def fetch_mail_cmd(config_path, as_json):
    """收取各村邮件报送的台账：存档、校验、按发件人确定村，并给发件人回执。

    退出码：0 全部接收；1 有暂存待核、拒收、未处理的附件或发送失败；2 连不上邮箱或配置有误。
    """
    try:
        result = api.fetch_mail(config=config_path)
    except TaizhangError as e:
        if not as_json:
            raise
        echo_json({"error": str(e), "exit_code": e.exit_code})
        return e.exit_code
    if as_json:
        echo_json(result.to_dict())
    else:
        click.echo(result.summary_text(), err=result.exit_code == 2)
    return result.exit_code


@cli.command("links")
@click.option("--revoke", "revoke", default=None, metavar="村名",
              help="作废这个村（社区）的报送地址（遗失或泄露时）；再运行 taizhang links 给它生成新的")
@click.option("--office", is_flag=True, help="同时生成乡信访办情况页的专用地址（供其他电脑打开 /office 页）")
@click.option("--revoke-office", is_flag=True, help="作废乡信访办情况页的专用地址")
@click.option("--sheet", type=click.Path(dir_okay=False), default=None,
              help="把这次生成的地址写成可打印的“报送方式”表（.xlsx）")
@click.option("--by", default=None, help="经办人（默认电脑的登录用户名）")
@click.option("--json", "as_json", is_flag=True, help="只输出一个 JSON 对象（供程序使用）")
@settings_option
@config_option
def links_cmd(revoke, office, revoke_office, sheet, by, as_json, settings_path, config_path):
    """网页报送地址：给村名册中还没有地址的每个村（社区）生成一个（长随机地址，每村一个），并列出各村的情况。

    地址只在生成时显示一次（工具只保存它的摘要，备份或拷走状态文件夹也拿不到地址）：请当场用 --sheet 写成
    “报送方式”表打印发给各村。遗失或泄露时用 --revoke 村名 作废，再运行一次 taizhang links 生成新的。
    """
    kw = {"config": config_path, "settings": settings_path, "by": by}
    if revoke or revoke_office:
        listing = api.revoke_link(None if revoke_office else revoke, **kw)
        if not listing.revoked:
            click.echo(f"{revoke or '乡信访办情况页'}没有有效的报送地址，无需作废。", err=True)
            return 1
        click.echo(f"已作废{revoke or '乡信访办情况页'}的报送地址（{len(listing.revoked)} 个）；"
                   "运行 taizhang links 生成新的。")
        return 0
    listing = api.links(office=office, sheet=sheet, **kw)
    if as_json:
        echo_json({"base_url": listing.base_url, "only_here": listing.only_here, "made": [{"village": k.village, "office": k.is_office,
                   "id": k.sender, "url": listing.url(k)} for k in listing.made],
                   "villages": [{"village": v, "id": k.sender if k else None, "made": k.made if k else None}
                                for v, k in listing.villages]})
        return 0
    click.echo(links_text(listing))
    if sheet:
        click.echo(f"报送方式表已写入：{sheet}（只含这次新生成的地址，请打印后妥善交给各村）。")
    return 0


def links_text(listing) -> str:
    if not listing.villages:
        return "村名册为空：请先在设置工作簿的“村名册”表中填写各村（社区），再运行 taizhang links。"
    lines = []
    for village, link in listing.villages:
        if link is not None and link.token:
            lines.append(f"{village}：{listing.url(link)}（新生成）")
        elif link is not None:
            lines.append(f"{village}：已于 {when_text(link.made)} 生成（地址只显示一次；遗失请 "
                         f"--revoke {village} 后重新生成）")
    if listing.office is not None:
        lines.append(f"乡信访办情况页：{listing.url(listing.office)}（新生成）" if listing.office.token else
                     "乡信访办情况页：专用地址已生成过（本机也可直接打开 /office）")
    if listing.made:
        lines.append(f"新生成 {len(listing.made)} 个地址：只显示这一次，请现在抄下或用 --sheet 写成报送方式表。"
                     "各村在浏览器中打开自己的地址即可上传台账（需先在服务电脑上运行 taizhang serve）。")
        if listing.only_here:
            lines.append(f"注意：taizhang.toml 的 [serve] 还没有写明本机的内网地址，以上地址以 {listing.base_url} 开头，"
                         "只能在这台电脑上打开，各村打不开。请先在 [serve] 中写 host（或 url），"
                         "再把地址开头换成“http://本机内网地址:端口”交给各村（地址后面的一长串不变）。")
    return "\n".join(lines)


@cli.command("submissions")
@click.option("--village", default=None, help="只看这个村（社区）")
@click.option("--json", "as_json", is_flag=True, help="只输出一个 JSON 对象（供程序使用）")
@settings_option
@config_option
def submissions_cmd(village, as_json, settings_path, config_path):
    """查看各村报送：现在计入总台账的是哪一份（保存最晚的版本），全部报送记录（编号、时间、来源、文件、
    保存时间、结果），以及暂存待核、不属于任何村的文件。

    退出码：0 没有暂存待核的报送；1 有暂存待核的报送等待核实。
    """
    view = api.submissions(village=village, config=config_path, settings=settings_path)
    data = view.to_dict()
    if as_json:
        echo_json(data)
    else:
        click.echo(view.summary_text())
    return 1 if data["held_count"] else 0


def clerk_act(f):
    """The arguments every act on one submission takes: its number, who acts, settings, config."""
    for option in (config_option, settings_option,
                   click.option("--by", default=None, help="经办人（默认电脑的登录用户名）"),
                   click.argument("submission_id", type=click.IntRange(1, None))):
        f = option(f)
    return f


@cli.command("release")
@click.option("--village", default=None, help="计入哪个村（社区）（发件人未登记、村名不在名册中或与文件中的村名不符时必填）")
@clerk_act
def release_cmd(submission_id, village, by, settings_path, config_path):
    """放行报送：暂存待核的、已撤回的，或村里有意重报的较早版本，核实后以这一份为准计入总台账
    （记录经办人和时间），下次汇总时生效。"""
    sub = api.release(submission_id, village=village, by=by, config=config_path,
                      settings=settings_path)
    click.echo(f"报送 #{sub.id}“{sub.filename}”已由 {sub.released_by} 放行，"
               + (f"计入{sub.village}。" if sub.counted else f"但仍未计入：{sub.message or '请查看 taizhang submissions'}。")
               + "下次汇总（taizhang consolidate 或每日汇总）时写入总台账。")
    return 0 if sub.counted else 1


@cli.command("assign")
@click.option("--village", required=True, help="归入哪个村（社区）（名册中的村名）")
@clerk_act
def assign_cmd(submission_id, village, by, settings_path, config_path):
    """把报送归入名册中的某个村（社区）：村名写错了的文件（如“上唐村”应为“上塘村”）、核实过的陌生邮箱来件。
    下次汇总时按该村计入（与该村的其他报送比较，保存最晚的一份计入）。"""
    sub = api.assign(submission_id, village=village, by=by, config=config_path, settings=settings_path)
    if sub.counted:
        state = f"现为{sub.village}采用的报送"
    else:
        state = f"现为“{sub.status}”" + (f"：{sub.message}" if sub.message else "")
    click.echo(f"报送 #{sub.id}“{sub.filename}”已由 {sub.assigned_by} 归入{village}，{state}。"
               "下次汇总时写入总台账。")
    return 0


@cli.command("withdraw")
@click.option("--reason", required=True, help="撤回原因（记入总台账“变更记录”）")
@clerk_act
def withdraw_cmd(submission_id, reason, by, settings_path, config_path):
    """撤回误发的报送（或不要的暂存件）：不再计入总台账，该村上一份合格报送重新计入；存档中的原件和记录都保留。"""
    sub, now = api.withdraw(submission_id, reason=reason, by=by, config=config_path,
                            settings=settings_path)
    instead = (f"{sub.village}改用报送 #{now.id}“{now.filename}”（{when_text(now.received)}）。"
               if now is not None else f"{sub.village or '该村'}现在没有计入总台账的报送。"
               if sub.village else "")
    click.echo(f"报送 #{sub.id}“{sub.filename}”已由 {sub.withdrawn_by} 撤回。{instead}"
               "下次汇总时总台账的“报送情况”和“变更记录”会写明。")
    return 0


@cli.command("remind")
@click.option("--as-of", "as_of", type=DATE, default=None,
              help="核对日期（默认 taizhang.toml 的 [daily] as_of，未设则今天）")
@click.option("--since", type=DATE, default=None,
              help="从这天起没有报送的村要催报（默认核对日期减去设置工作簿的“报送周期（天）”）")
@click.option("--send", is_flag=True, help="给每个要催报的村发一封催报邮件（同一天不重发）")
@click.option("--out", type=click.Path(dir_okay=False), default=None,
              help="催报单写到这个文件（默认总台账旁的 催报单.xlsx）")
@click.option("--json", "as_json", is_flag=True, help="只输出一个 JSON 对象（供程序使用）")
@settings_option
@config_option
def remind_cmd(as_of, since, send, out, as_json, settings_path, config_path):
    """催报：列出未按时报送、台账有错误或有逾期案件的村（社区），写出可打印的催报单；加 --send 发催报邮件。

    退出码：0 完成；1 有村未能发送（没有邮箱、发件服务器拒绝）或催报单未写出；2 配置或设置有误。
    """
    result = api.remind(as_of=as_of, since=since, send=send, sheet=out, config=config_path,
                        settings=settings_path)
    if as_json:
        echo_json(result.to_dict())
    else:
        click.echo(result.summary_text())
    return result.exit_code


def _logs_folder() -> Path | None:
    """Where an unexpected error's traceback goes: the configured logs folder, if any."""
    try:
        return api.load_config().logs
    except Exception:  # a broken config must not hide the first error
        return None


def main(argv: list[str] | None = None) -> int:
    console_safe()
    try:
        rv = cli.main(args=argv, prog_name="taizhang", standalone_mode=False)
        return int(rv or 0)
    except click.exceptions.Abort:
        click.echo("已取消。", err=True)
        return EXIT_CANNOT_RUN
    except click.UsageError as e:
        click.echo(usage_message(e), err=True)
        return EXIT_CANNOT_RUN
    except click.ClickException as e:
        e.show()
        return EXIT_CANNOT_RUN
    except KeyboardInterrupt:
        click.echo("已中断。", err=True)
        return EXIT_CANNOT_RUN
    except Exception as e:  # never a traceback to a clerk
        text, code = clerk_message(e, _logs_folder())
        click.echo(text, err=True)
        return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
