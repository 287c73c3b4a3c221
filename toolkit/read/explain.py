"""What a parser's failure means for the clerk, in Chinese.

python-calamine, zipfile and olefile speak English ("Cfb error: Sector ... points
past end of file", "Relationship not found", a Rust panic). Their text goes to the
log only; the clerk reads what happened to the file in words they know, and the
catalogue's action (open it in Excel or WPS, save as .xlsx, send again).
"""
from __future__ import annotations

import logging
import re

log = logging.getLogger("taizhang")

_MEANINGS = (
    (r"password|encrypt", "文件设置了打开密码"),
    (r"code ?page", "文件使用了工具不认识的文字编码（代码页）"),
    (r"range is missing|dimension", "工作表的尺寸记录（dimension）不规范"),
    (r"sheet:state|sheet state", "工作表的显示状态记录不规范"),
    (r"worksheetnotfound|worksheet not found", "工作簿列出的某个工作表在文件里不存在，文件可能不完整"),
    (r"cannot decode|utf-?16", "文件内部使用了不常见的文字编码"),
    (r"mismatch|expected.*table-cell", "表格内部的格式不规范"),
    (r"cfb|sector|\bfat\b|\bole\b|compound", "旧版 .xls 文件（Office 复合文档）的内部结构损坏或不完整，可能下载或传输中断"),
    (r"zip|eocd|central directory|deflate|crc", "文件的压缩结构损坏或不完整，可能下载或传输中断"),
    (r"unrecognized sheet|sheet.?type|macrosheet|dialogsheet", "工作簿里有工具无法识别的工作表类型"),
    (r"relationship|not found|missing|no such file", "工作簿内部引用的某个部件不存在，可能由非标准软件生成或已损坏"),
    (r"biff|unsupported|version|xlsb", "是工具不支持的表格格式或版本"),
    (r"panick|panic", "读取程序无法解析该文件的内部结构"),
    (r"xml|attribute|utf-?8|encoding|unexpected|eof|invalid", "文件内部的数据结构不规范或已损坏"),
)


def explain(technical: str, *, file: object = None) -> str:
    """A Chinese reason for a parser's failure; the technical text is logged, not returned."""
    text = technical or ""
    log.warning("parser failure on %s: %s", file, text[:500])
    low = text.lower()
    for pattern, words in _MEANINGS:
        if re.search(pattern, low):
            return words
    return "文件内部结构损坏或不规范"
