"""The review queue ("2nd check"): people's verdicts on many leads at once, with a reason from
the instance's reason categories."""
