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
</style></head>
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


def render(title: str, body: str) -> bytes:
    """A whole page: ``body`` is markup already (made from these templates)."""
    return LAYOUT.substitute(title=html.escape(title), body=body).encode("utf-8")
