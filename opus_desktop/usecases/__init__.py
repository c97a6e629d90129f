"""The use cases, each once, below both front ends: cli/ parses and prints, gui/ shows and
asks; both call these, which put the journal, the client and the runs together.

    connection.py   open a profile's connection: the one password flow
    submitting.py   dry run, start a submit run from a sheet or from records, resume it,
                    send its failures again, export failed rows
    runs.py         list and show the journal's runs, write a run's report

Nothing here imports Qt. A use case reports through the RunState it is given and returns
its outcome; it never prints.
"""
