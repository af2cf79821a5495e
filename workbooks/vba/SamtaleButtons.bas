Attribute VB_Name = "SamtaleButtons"
' samtale: one Sub per button on the Start sheet. Each hands one action to Python.
' Generated from samtale_automation/workbook/buttons.py by
' `python -m samtale_automation.workbook.vba_build`: change the list there, not this file.
Option Explicit

Public Sub CheckWorkbook()
    RunPython "import samtale_automation.faces.excel as x; x.run('check')"
End Sub

Public Sub PlanConversations()
    RunPython "import samtale_automation.faces.excel as x; x.run('plan')"
End Sub

Public Sub MakePrepSheets()
    RunPython "import samtale_automation.faces.excel as x; x.run('prep')"
End Sub

Public Sub SendInvitations()
    RunPython "import samtale_automation.faces.excel as x; x.run('invite')"
End Sub

Public Sub CollectReturns()
    RunPython "import samtale_automation.faces.excel as x; x.run('collect')"
End Sub

Public Sub SendReminders()
    RunPython "import samtale_automation.faces.excel as x; x.run('remind')"
End Sub

Public Sub RefreshOverview()
    RunPython "import samtale_automation.faces.excel as x; x.run('overview')"
End Sub

Public Sub WritePendingChanges()
    RunPython "import samtale_automation.faces.excel as x; x.run('apply')"
End Sub

Public Sub MyConversations()
    RunPython "import samtale_automation.faces.excel as x; x.run('mine')"
End Sub
