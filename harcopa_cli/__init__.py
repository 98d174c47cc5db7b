"""The ``harcopa`` command line and the local service launcher: the top floor of the project.

The only package that imports several services; the core (``harcopa``) and the services never
import it.
"""
