"""Need-to-know access to a case: supervisors' grants and officers'
break-glass (emergency) access, each an aggregate of its own."""
