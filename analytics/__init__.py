"""Pure scoring core of Metrics Dashboard: availability error budgets and backup resilience (RPO).

Everything here takes DataFrames and typed parameters and returns DataFrames or values; nothing
imports Dash or Plotly or performs I/O, so the command line, cron jobs and the web app share it.
"""
