"""LibreOffice as the producing program of odd but honest files: what it writes when a user
sets a password (Excel's default "VelvetSweatshop" included) or turns off "size optimization
for ODF format" (pretty-printed XML, Tools > Options > Load/Save > General).

The command line cannot set a password, so a private profile gets a Basic macro that loads
each file and stores it with the filter and password asked for; the ODF option is a line in
the profile's registrymodifications.xcu. As everywhere, each run has a profile of its own.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from factories.libreoffice import find_soffice

_MODULE = '''<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE script:module PUBLIC "-//OpenOffice.org//DTD OfficeDocument 1.0//EN" "module.dtd">
<script:module xmlns:script="http://openoffice.org/2000/script" script:name="Module1" script:language="StarBasic">
Sub SaveAll(files As String, targets As String, filter As String, pw As String)
  sources = Split(files, &quot;|&quot;)
  outs = Split(targets, &quot;|&quot;)
  For i = 0 To UBound(sources)
    SaveOne(sources(i), outs(i), filter, pw)
  Next i
End Sub

Sub SaveOne(src As String, dst As String, filter As String, pw As String)
  Dim args(0) As New com.sun.star.beans.PropertyValue
  args(0).Name = &quot;Hidden&quot;
  args(0).Value = True
  doc = StarDesktop.loadComponentFromURL(ConvertToURL(src), &quot;_blank&quot;, 0, args())
  If pw = &quot;&quot; Then
    Dim plain(0) As New com.sun.star.beans.PropertyValue
    plain(0).Name = &quot;FilterName&quot;
    plain(0).Value = filter
    doc.storeToURL(ConvertToURL(dst), plain())
  Else
    Dim locked(1) As New com.sun.star.beans.PropertyValue
    locked(0).Name = &quot;FilterName&quot;
    locked(0).Value = filter
    locked(1).Name = &quot;Password&quot;
    locked(1).Value = pw
    doc.storeToURL(ConvertToURL(dst), locked())
  End If
  doc.close(True)
End Sub
</script:module>
'''
_PRETTY = ('<item oor:path="/org.openoffice.Office.Common/Save/Document">'
           '<prop oor:name="PrettyPrinting" oor:op="fuse"><value>true</value></prop></item>')


def _run(args: list[str], timeout: float) -> None:
    """soffice in a process group of its own, killed whole if it hangs (a Basic error waits
    for a click nobody gives)."""
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        raise


def _profile(folder: Path, *, pretty: bool = False) -> str:
    url = folder.as_uri()
    _run([find_soffice(), f"-env:UserInstallation={url}", "--headless", "--terminate_after_init"], 180)
    (folder / "user/basic/Standard/Module1.xba").write_text(_MODULE, encoding="utf-8")
    if pretty:
        xcu = folder / "user/registrymodifications.xcu"
        xcu.write_text(xcu.read_text(encoding="utf-8").replace("</oor:items>", _PRETTY + "</oor:items>"),
                       encoding="utf-8")
    return url


def save_as(sources: list[Path], targets: list[Path], *, filter_name: str, password: str = "",
            pretty: bool = False) -> list[Path]:
    """Load each source in LibreOffice and store it as its target with ``filter_name``
    ("MS Excel 97", "calc8" for .ods …), encrypted with ``password`` when one is given.
    (A macro URL with Chinese characters in it makes soffice wait forever: the files go
    through ASCII names in the profile's folder.)"""
    with tempfile.TemporaryDirectory(prefix="taizhang-lo-") as tmp:
        url = _profile(Path(tmp), pretty=pretty)
        work = Path(tmp) / "files"
        work.mkdir()
        ins, outs = [], []
        for n, (src, dst) in enumerate(zip(sources, targets)):
            ins.append(work / f"in{n}{Path(src).suffix}")
            outs.append(work / f"out{n}{Path(dst).suffix}")
            shutil.copyfile(src, ins[-1])
        macro = (f'macro:///Standard.Module1.SaveAll("{"|".join(map(str, ins))}","{"|".join(map(str, outs))}",'
                 f'"{filter_name}","{password}")')
        _run([find_soffice(), f"-env:UserInstallation={url}", "--headless", "--norestore", macro], 300)
        missing = [Path(t).name for t, o in zip(targets, outs) if not o.exists()]
        assert not missing, f"LibreOffice did not write {missing}"
        for dst, out in zip(targets, outs):
            shutil.move(out, dst)
    return [Path(t) for t in targets]
