Attribute VB_Name = "Taizhang"
' The buttons of the taizhang workbench (workbooks/<workbench>.xlsm).
'
' Source of truth: toolkit/shells/vba/Taizhang.bas in the taizhang repository.
' `taizhang workbench` builds the workbook from this file and xlwings' own
' modules; tests/test_workbench.py checks that the workbook holds exactly
' this text. Keep this file ASCII-only: a VBA project stores source in one
' ANSI code page, and ASCII reads the same on Chinese and English Windows.
' The Chinese button captions live in the workbook's drawing, not here.
'
' Each macro runs one handler of toolkit/macros.py:
'   * on this PC through xlwings' RunPython (Python + taizhang installed), or
'   * on the township server through xlwings' RunRemotePython when the
'     setting TAIZHANG_SERVER is found (xlwings.conf sheet, xlwings.conf
'     next to this workbook, or %USERPROFILE%\.xlwings\xlwings.conf), e.g.
'     "TAIZHANG_SERVER","http://192.0.2.10:8765"; the token goes in the
'     user file as "AUTH","Bearer <token>".
' The handlers act on the sheet in front of the clerk: the active sheet of
' the active workbook (use Alt+F8 from another open ledger workbook), or,
' when that is this workbook's own control sheet, its first ledger sheet.
Option Explicit

Public Sub TZ_Validate()
    TZ_Run "validate_active_sheet"
End Sub

Public Sub TZ_Fill()
    TZ_Run "fill_active_sheet"
End Sub

Public Sub TZ_Consolidate()
    TZ_Run "consolidate_all"
End Sub

Public Sub TZ_CheckSetup()
    TZ_Run "check_setup"
End Sub

Private Sub TZ_Run(handler As String)
    Dim server As String
    server = GetConfig("TAIZHANG_SERVER", "")
    If server = "" Then
        RunPython "import toolkit.macros as m; m." & handler & "()"
    Else
        If Right$(server, 1) = "/" Then server = Left$(server, Len(server) - 1)
        RunRemotePython server & "/" & handler
    End If
End Sub

' Applied by the remote client (action runMacro) to take the fill this tool
' painted off a cell that is correct now. Only the fill changes: values,
' number formats, fonts and borders stay as the clerk left them.
Public Sub TZ_ClearFill(wb As Workbook, sheetName As String, address As String)
    wb.Worksheets(sheetName).Range(address).Interior.Pattern = xlNone
End Sub
