"""The two guides, in the words of their sources (outbound links removed, their words kept).

Rebuilding: shared/seeds/000_5f9147c3afb6f6f2.txt. Supporting: shared/seeds/003_fa3019377c439bb4.txt.
The guides' tests (test_guides_have_every_step_in_the_seeds_words) check every step against
the seed files word for word (a copy of them travels with the tests, in tests/fixtures/seeds/).
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class GuideStep:
    number: int
    title: str
    body: str


@dataclass(frozen=True)
class Guide:
    role: str
    title: str
    intro: str
    steps: tuple[GuideStep, ...]
    outro: str = ""

    def step(self, number: int) -> GuideStep | None:
        if 1 <= number <= len(self.steps):
            return self.steps[number - 1]
        return None


GUIDES = {
    "rebuilding": Guide(
        role="rebuilding",
        title="What to do when your partner doesn't trust you",
        intro="It's painful and challenging when your partner doesn't trust you. Rebuilding trust takes time, effort, and genuine commitment from both parties. Here's a breakdown of what you can do:",
        steps=(
        GuideStep(1, 'Acknowledge and Validate Their Feelings',
                  "The first step is to understand why your partner feels this way. Listen actively without getting defensive. Show empathy. Let them know you hear their concerns and that their feelings are valid, even if you disagree with their assessment. Don't dismiss their fears or tell them they're being unreasonable. Focus on understanding their perspective. Understanding their feeling may require you to have deep empathy."),
        GuideStep(2, 'Identify the Root Cause',
                  'Dig deeper to figure out the source of the distrust. Was there a specific incident that triggered it, such as a lie, broken promise, or perceived betrayal? Or is it rooted in past experiences or insecurities that your partner carries from previous relationships? Understanding the root cause is crucial for addressing the issue effectively. Root Cause is important to solve the problem at the source.'),
        GuideStep(3, 'Take Responsibility for Your Actions',
                  "If you've done something to damage their trust, own up to it. Offer a sincere apology and acknowledge the impact your actions had on them. Avoid making excuses or shifting blame. Genuine remorse is essential for starting the healing process. Saying you are sorry can lead to remorse."),
        GuideStep(4, 'Be Transparent and Honest',
                  "Openness is key to rebuilding trust. Be transparent in your communication and actions. Share your thoughts and feelings honestly, even when it's difficult. Avoid secrets and hidden agendas. Be willing to answer their questions openly and honestly, even if they're uncomfortable."),
        GuideStep(5, 'Consistent Actions Speak Louder Than Words',
                  "Words are not enough. You need to demonstrate your commitment to change through consistent actions. Keep your promises, be reliable, and show that you're trustworthy through your behavior. This requires patience and consistency over time."),
        GuideStep(6, 'Establish Clear Boundaries and Expectations',
                  'Discuss what both of you need in the relationship. Set clear boundaries and expectations around communication, behavior, and privacy. This can help to create a sense of security and predictability, which can contribute to rebuilding trust.'),
        GuideStep(7, 'Practice Active Listening and Communication',
                  "Make an effort to actively listen to your partner's concerns and communicate your own needs clearly and respectfully. Practice active listening techniques, such as paraphrasing and summarizing, to ensure that you understand what your partner is saying. Avoid interrupting or becoming defensive."),
        GuideStep(8, 'Be Patient and Understanding',
                  "Rebuilding trust takes time, often longer than you might expect. Be patient with your partner and understand that they may need time to process their feelings and regain trust. Avoid pressuring them to trust you before they're ready."),
        GuideStep(9, 'Seek Professional Help',
                  "If you're struggling to rebuild trust on your own, consider seeking professional help from a therapist or counselor. A therapist can provide guidance and support to help you navigate the challenges and develop healthier communication patterns. Therapy can be beneficial for both of you."),
        GuideStep(10, 'Self-Reflection',
                  'Engage in self-reflection to understand your own patterns and behaviors that may have contributed to the erosion of trust. Are you prone to lying, being secretive, or avoiding difficult conversations? Addressing your own issues can help you become a more trustworthy partner.'),
        ),
    ),
    "supporting": Guide(
        role="supporting",
        title='How to Help Your Partner with Trust Issues',
        intro='Building trust in a relationship can be challenging, especially when one partner struggles with trust issues. Trust is the foundation of any healthy relationship, and without it, it can be difficult for both partners to feel secure and connected. If you are in a relationship with someone who has trust issues, here are some practical steps you can take to help them on their journey to healing and rebuilding trust.',
        steps=(
        GuideStep(1, 'Educate Yourself',
                  'Before you can effectively help your partner with their trust issues, it is important to educate yourself about the causes and symptoms of trust problems. Understanding the root causes can help you approach the situation with empathy and patience. Trust issues can stem from past traumas, such as abuse or betrayal, or from personality traits that make it difficult for someone to form close relationships.'),
        GuideStep(2, 'Be Patient and Understanding',
                  'Patience is key when helping someone with trust issues. It can take time for your partner to open up and share their feelings, and it is crucial to be understanding and non-judgmental throughout the process. Avoid rushing them or pressuring them to trust you immediately. Instead, focus on building a strong foundation of communication and support.'),
        GuideStep(3, 'Create a Safe Environment',
                  'A safe and supportive environment is essential for your partner to start healing their trust issues. Make sure they feel secure in your relationship and that they know they can share their thoughts and feelings without fear of judgment or criticism. Encourage open communication and be willing to listen actively, showing that you genuinely care about their feelings.'),
        GuideStep(4, 'Set Clear Boundaries',
                  'Establishing clear boundaries is crucial for both partners when dealing with trust issues. This includes setting boundaries around communication, privacy, and expectations. Make sure your partner understands the boundaries and respect them. This will help create a sense of security and trustworthiness.'),
        GuideStep(5, 'Be Consistent and Reliable',
                  'Consistency and reliability are essential for rebuilding trust. Follow through on your promises and commitments, and be reliable in your actions and words. When your partner sees that you are consistently trustworthy, it can help them begin to let down their guard and trust you more.'),
        GuideStep(6, 'Offer Empathy and Validation',
                  'Your partner may be dealing with intense emotions and insecurities. Offer empathy and validation by acknowledging their feelings and showing that you understand the difficulty they are facing. Let them know that their emotions are valid and that you are there to support them through the process.'),
        GuideStep(7, 'Seek Professional Help',
                  'In some cases, trust issues may be too deep-rooted or complex to overcome without professional help. Encourage your partner to seek therapy or counseling from a qualified therapist who specializes in relationship issues and trust. A therapist can provide additional support and guidance as your partner works through their trust issues.'),
        GuideStep(8, 'Practice Self-Care',
                  'It is important to take care of yourself while supporting your partner with their trust issues. This includes setting aside time for your own well-being, engaging in activities you enjoy, and seeking support from friends and family when needed. Taking care of yourself will help you stay resilient and maintain your patience and empathy throughout the process.'),
        ),
        outro='By following these steps, you can help your partner work through their trust issues and build a stronger, more secure relationship. Remember that healing trust issues takes time, and it is important to be patient and understanding throughout the process.',
    ),
}
