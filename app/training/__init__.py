"""The Training tab: fine-tune CV-UGCN on the user's own recordings (view ``tab.py`` with its setup panel
``setup.py`` and plots ``plots.py``, presenter ``presenter.py``, the comparison page ``compare.py`` with
``compare_presenter.py``, the tasks ``tasks.py``, words and colours ``labels.py``)."""
