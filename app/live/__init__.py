"""The Live tab: live capture from two cameras with live 3D (view ``tab.py``, presenter ``presenter.py``,
recording ``record.py`` / ``record_view.py``, building blocks ``panels.py``, the result hand-over ``bridge.py``)."""
