"""The pages the button server (`taizhang serve`) shows in a browser, in one place.

Every page is ``LAYOUT`` around a body; every value put into a page goes through
``html.escape`` (``render``), so nothing from a settings workbook or a request becomes markup.
A new page is a template here and a route in :data:`toolkit.shells.server.ROUTES`.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from string import Template

LAYOUT = Template("""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>
body{font-family:'Microsoft YaHei','PingFang SC','Noto Sans CJK SC',sans-serif;max-width:46em;margin:2em auto;
padding:0 1em;line-height:1.7;color:#222}
h1{font-size:1.5em;color:#1F4E79}table{border-collapse:collapse}
td,th{border:1px solid #ccc;padding:.3em .7em;text-align:left;vertical-align:top}th{background:#eef3fa}
.demo{background:#FFF2CC;border:1px solid #E0B000;padding:.6em 1em}.small{color:#666;font-size:.9em}
</style>
$head</head>
<body>
$body
</body></html>
""")

HOME = Template("""<h1>$title</h1>
$demo
<p>这台电脑为乡信访办没有安装 Python 的电脑提供 Excel“台账工作台”的按钮：校验本表、计算期限、一键汇总、检查安装。
按钮把工作簿发到这里处理，结果写回您的工作簿。在工作台的设置（xlwings.conf）中把 TAIZHANG_SERVER 写成本页地址即可使用；
口令向乡信访办管理员索取。</p>
<table>
<tr><th>今天</th><td>$today</td></tr>
<tr><th>活动</th><td>$campaign</td></tr>
<tr><th>每日汇总</th><td>$daily</td></tr>
<tr><th>总台账</th><td>$master</td></tr>
</table>
<p>各村（社区）也可以在浏览器中打开乡信访办发给本村的网页报送地址，上传台账并当场看到核对结果
（地址由乡信访办运行 taizhang links 生成）。乡信访办在这台电脑上打开 <a href="/office">今日情况</a>。</p>
<p><a href="/guide">使用说明</a> · <a href="/health">服务状态（health）</a></p>
<p class="small">台账工具 $version · 配置 $config</p>
""")

DEMO = Template("""<p class="demo"><strong>注意：</strong>$notice</p>""")


@dataclass(frozen=True)
class HomeState:
    """What the home page says (plain text; ``render`` escapes it)."""
    title: str
    today: str
    campaign: str
    daily: str
    master: str
    version: str
    config: str
    demo_notice: str = ""


def home_page(state: HomeState) -> bytes:
    demo = DEMO.substitute(notice=html.escape(state.demo_notice)) if state.demo_notice else ""
    body = HOME.substitute(demo=demo, **{k: html.escape(v) for k, v in vars(state).items()
                                         if k != "demo_notice"})
    return render(state.title, body)


def render(title: str, body: str, *, head: str = "") -> bytes:
    """A whole page: ``body`` (and ``head``, extra tags for <head>) is markup already (made from
    these templates)."""
    return LAYOUT.substitute(title=html.escape(title), body=body, head=head).encode("utf-8")


# --- the office page (issue 22): a village's upload page, the office's status page --------------
# One script for the upload page, served as /portal.js (the pages allow no inline script). It
# builds every answer with textContent, never markup: a village's file names and cell texts
# cannot become HTML.
PORTAL_JS = r"""(function () {
  'use strict';
  var meta = function (n) { return document.querySelector('meta[name="' + n + '"]').content; };
  var drop = document.getElementById('drop'), chooser = document.getElementById('chooser');
  var status = document.getElementById('status'), result = document.getElementById('result');
  var limit = parseInt(meta('max-bytes'), 10), busy = false;
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) { e.textContent = String(text); }
    if (cls) { e.className = cls; }
    return e;
  }
  function say(text, cls) { status.textContent = text; status.className = 'status ' + (cls || ''); }
  function show(a) {
    result.textContent = '';
    var kind = a.outcome === 'ok' ? 'good' : (a.outcome === 'has_errors' ? 'warn' : 'bad');
    result.appendChild(el('h2', a.headline, 'verdict ' + kind));
    result.appendChild(el('p', '文件“' + a.file + '”：村（社区）' + (a.village || '未能确定') + '；读取案件 ' +
      a.cases + ' 件，错误 ' + a.errors + ' 处，提醒 ' + a.warnings + ' 处。'));
    a.notes.forEach(function (n) { result.appendChild(el('p', n, 'note')); });
    if (a.copy) {
      var p = el('p'), link = el('a', '下载标出问题的副本（红色为错误，黄色为提醒）');
      link.href = location.pathname.replace(/\/$/, '') + '/copy/' + a.submission;
      link.id = 'copy'; p.appendChild(link); result.appendChild(p);
    }
    if (a.problems.length) {
      var t = el('table'), head = el('tr');
      ['', '工作表', '单元格', '案件', '问题', '怎么改'].forEach(function (h) { head.appendChild(el('th', h)); });
      t.appendChild(head);
      a.problems.forEach(function (p) {
        var r = el('tr', null, p.level === '错误' ? 'err' : 'wrn');
        [p.level, p.sheet, p.cell, p.case, p.message, p.action].forEach(function (v) { r.appendChild(el('td', v)); });
        t.appendChild(r);
      });
      result.appendChild(t);
      if (a.more) { result.appendChild(el('p', '另有 ' + a.more + ' 条未列出，见副本的“校验结果”工作表。', 'note')); }
    }
  }
  function send(file) {
    if (busy) { return; }
    if (!file) { say('没有选中文件。', 'bad'); return; }
    if (file.size > limit) {
      say('文件“' + file.name + '”太大（' + (file.size / 1048576).toFixed(1) + ' MB），超过 ' +
          Math.round(limit / 10485.76) / 100 + ' MB 的上限。请删去台账以外的工作表和图片后再上传。', 'bad');
      return;
    }
    busy = true; result.textContent = '';
    say('正在上传并核对“' + file.name + '”，请稍候……', 'wait');
    fetch(location.pathname.replace(/\/$/, '') + '/upload', {
      method: 'POST', body: file, credentials: 'same-origin',
      headers: {'Content-Type': 'application/octet-stream', 'X-CSRF-Token': meta('csrf'),
                'X-File-Name': encodeURIComponent(file.name)}
    }).then(function (r) {
      return r.text().then(function (body) {
        if (!r.ok) { say(body, 'bad'); return; }
        var a = JSON.parse(body);
        say('已收到“' + a.file + '”（编号 ' + a.submission + '）。', a.outcome === 'ok' ? 'good' : '');
        show(a);
      });
    }).catch(function () {
      say('上传没有完成（网络中断或文件太大）。请检查网络后再试。', 'bad');
    }).then(function () { busy = false; chooser.value = ''; });
  }
  chooser.addEventListener('change', function () { send(chooser.files[0]); });
  ['dragover', 'drop'].forEach(function (n) {      // a file dropped beside the box must not replace the page
    document.addEventListener(n, function (e) { e.preventDefault(); });
  });
  ['dragenter', 'dragover'].forEach(function (n) {
    drop.addEventListener(n, function (e) { e.preventDefault(); drop.classList.add('over'); });
  });
  ['dragleave', 'drop'].forEach(function (n) {
    drop.addEventListener(n, function (e) { e.preventDefault(); drop.classList.remove('over'); });
  });
  drop.addEventListener('drop', function (e) {
    var files = e.dataTransfer.files;
    if (files.length > 1) { say('一次只能上传一个文件。', 'bad'); return; }
    send(files[0]);
  });
})();
"""

PORTAL_STYLE = """<style>
body{max-width:62em}h2{font-size:1.2em;color:#1F4E79;margin-top:1.4em}
#drop{border:3px dashed #8aa9cc;border-radius:8px;padding:2.2em 1em;text-align:center;background:#f6f9fd}
#drop.over{background:#e3eefb;border-color:#1F4E79}.status{margin:1em 0;font-weight:bold}
.good{color:#1e7b34}.warn{color:#9a6700}.bad{color:#b00020}.wait{color:#1F4E79}
.verdict{font-size:1.25em}.note{color:#444}tr.err td:first-child{color:#b00020;font-weight:bold}
tr.wrn td:first-child{color:#9a6700}table{width:100%;font-size:.92em}label.button{display:inline-block;
margin-top:.6em;padding:.4em 1.2em;background:#1F4E79;color:#fff;border-radius:4px;cursor:pointer}
#chooser{position:absolute;left:-9999px}#result td:nth-child(-n+4),#result th{white-space:nowrap}
</style>"""

OFFICE_STYLE = """<style>
body{max-width:62em}h2{font-size:1.2em;color:#1F4E79;margin-top:1.4em}table{font-size:.92em}
</style>"""

UPLOAD = Template("""<h1>$village 台账网页报送</h1>
<p>$township信访办。把本村（社区）的信访积案台账（Excel 或 WPS 文件）拖到下面的框里，或点“选择文件”。
几秒钟后这里会显示核对结果：是否收到、哪张表哪个单元格有什么问题、怎么改；有问题时可以下载标出问题的副本，
在本村原表中改正后再上传一次。</p>
<div id="drop"><p>把台账文件拖到这里</p>
<label class="button" for="chooser">选择文件</label><input type="file" id="chooser"
accept=".xlsx,.xlsm,.xls,.xlsb,.ods,.et"></div>
<p id="status" class="status"></p>
<div id="result"></div>
<p class="small">每次上传的文件都会存档，乡里下一次汇总时计入总台账（计入的是保存时间最晚的一份）。
本地址只供本村使用，请勿转给他人；如遗失或泄露，请告诉乡信访办作废并换一个。上传上限 $limit MB。</p>
<script src="/portal.js"></script>
""")

REFUSED = Template("""<h1>$title</h1>
<p>$message</p>
""")

OFFICE = Template("""<h1>$title</h1>
$demo
<p>核对日期 $as_of，活动阶段：$phase。以下数字来自 $numbers_day 的汇总$daily。</p>
<table><tr>$total_heads</tr><tr>$total_values</tr></table>
<h2>下载</h2>
<p>$downloads</p>
<h2>报送情况（未报 $missing 个）</h2>
<table><tr><th>村（社区）</th><th>情况</th><th>计入总台账的文件</th><th>最近收到的文件</th><th>收到时间</th>
<th>方式</th><th>最近一份的判定</th></tr>
$villages</table>
<h2>最近几次汇总</h2>
<table><tr><th>核对日期</th><th>案件</th><th>逾期</th><th>临期</th><th>已化解</th></tr>
$runs</table>
<p class="small">本页只给乡信访办和乡领导看，不显示信访人信息；案件明细请下载总台账。</p>
""")


def upload_page(*, village: str, township: str, csrf: str, max_bytes: int) -> bytes:
    body = UPLOAD.substitute(village=html.escape(village), township=html.escape(township),
                             limit=f"{max_bytes / 2**20:g}")
    head = (f'<meta name="csrf" content="{html.escape(csrf)}">'
            f'<meta name="max-bytes" content="{int(max_bytes)}">{PORTAL_STYLE}')
    return render(f"{village} 台账网页报送", body, head=head)


def refused_page(title: str, message: str) -> bytes:
    return render(title, REFUSED.substitute(title=html.escape(title), message=html.escape(message)))


def _row(values) -> str:
    return "<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in values) + "</tr>"


@dataclass(frozen=True)
class OfficeView:
    """What the office page says (plain values; escaped here)."""
    title: str
    as_of: str
    phase: str
    numbers_day: str
    daily: str
    totals: list
    villages: list
    missing: int
    runs: list
    master: str           # the master's address on this server, "" when there is none
    master_time: str
    brief: str            # the brief PDF's address, ""
    demo_notice: str = ""


def office_page(view: OfficeView) -> bytes:
    downloads = []
    if view.master:
        downloads.append(f'<a href="{html.escape(view.master)}" id="master">总台账（{html.escape(view.master_time)}）</a>')
    if view.brief:
        downloads.append(f'<a href="{html.escape(view.brief)}" id="brief">简报 PDF</a>')
    body = OFFICE.substitute(
        title=html.escape(view.title),
        demo=DEMO.substitute(notice=html.escape(view.demo_notice)) if view.demo_notice else "",
        as_of=html.escape(view.as_of), phase=html.escape(view.phase),
        numbers_day=html.escape(view.numbers_day), daily=html.escape(view.daily),
        total_heads="".join(f"<th>{html.escape(k)}</th>" for k, _ in view.totals),
        total_values="".join(f"<td>{v}</td>" for _, v in view.totals),
        downloads=" · ".join(downloads) or "还没有总台账（运行一次汇总后这里可以下载）。",
        missing=int(view.missing),
        villages="\n".join(_row(r) for r in view.villages),
        runs="\n".join(_row(r) for r in view.runs))
    return render(view.title, body, head=OFFICE_STYLE)
