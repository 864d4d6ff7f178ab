"""Looking ahead: staffing (Erlang C) for a queue's load."""
