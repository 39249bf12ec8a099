// What characters say. Each bank has lines for screenplays and lines held out for subtitles only,
// so a text model trained on the screenplays must generalise to the captions' wordings.
// Placeholders: {Name} a character, {num} a number, {place} a place.
import type { ActionClass } from './verbs.ts';

export interface LineBank {
  script: readonly string[];
  heldOut: readonly string[];
}

/** Lines typical of each action (§3.1: speech is correlated with the action it accompanies). */
export const TYPICAL_LINES: Record<ActionClass, LineBank> = {
  phone: {
    script: ['Hello? Who is this?', "{Name}, it's me. Call me back.", 'Can I call you back later?', 'Yes, this is {Name} speaking.', "Hold on, I've got another call.", 'Sorry, wrong number.', 'Hello? Hello? Are you there?', 'Answer the phone, will you?', "I'm on the line with the office.", 'Put {Name} on the line.', 'Phone the police!', 'Who phoned?'],
    heldOut: ["Who's calling, please?", "Hi, it's me again, just checking in.", "Don't hang up on me!", 'Yeah, I got your message.', 'I tried to phone you all day.'],
  },
  open: {
    script: ["It's locked. Give me the key.", 'Let some air in here.', 'Open it.', 'Open the door!', "What's in the box?", 'Let me get the door for you.', 'Careful with the lid.', "Open up, it's the police!", 'Try the handle.'],
    heldOut: ["Where's the key to this thing?", "It's stuck, help me with it.", "Let's see what's inside.", 'Somebody get the door.', 'Can you open this jar?'],
  },
  kiss: {
    script: ['Close your eyes.', "You're beautiful.", 'Kiss me.', "I've wanted to do that for so long.", 'Your lips are cold.', 'Not here, someone will see us.', 'Goodnight, sweetheart.', 'Give me a kiss.'],
    heldOut: ['Stay with me tonight.', 'Was that okay?', 'Come closer, darling.', 'You taste like strawberries.', 'Kiss me again.'],
  },
  hug: {
    script: ["It's so good to see you!", 'Come here, you.', "I'm so glad you're safe.", "Everything's going to be okay.", 'Give me a hug.', 'Welcome home!', 'Oh, my baby.', 'Can I hug you?'],
    heldOut: ['Look at you, all grown up!', "Oh, thank God you're alright.", "It's okay, I've got you.", 'Bring it in, buddy.', 'Hug me, please.'],
  },
  push: {
    script: ['Get out of my way!', 'Move it!', 'Come on, push!', "It won't budge.", 'Harder, it\'s almost moving.', 'Out of my way, I said!', 'Give it a shove.', 'Push harder!'],
    heldOut: ['On three, everybody heave.', "Don't you touch me!", 'Put your back into it.', 'Move aside!', 'Push it over there.'],
  },
  point: {
    script: ['Look, over there!', 'That one. Right there.', 'See that? Up on the hill.', 'There he is!', 'Which one? That one?', 'Over there, by the window.', 'That building, across the river.', "Don't point that thing at me."],
    heldOut: ['Right there, can you see it?', "That's the house, the one on the left.", 'Up there! See it?', 'Him. The man in the grey coat.', 'Point to the one you saw.'],
  },
  dance: {
    script: ['May I have this dance?', 'I love this song!', 'Come on, dance with me.', "I don't know how to dance.", 'Just follow my lead.', "You're a wonderful dancer.", 'Turn up the music!'],
    heldOut: ["Let's hit the dance floor.", 'One more song, please.', "You're stepping on my toes.", 'Spin me around!', 'Dance with me, {Name}.'],
  },
  drink: {
    script: ['Cheers!', 'To us!', 'Another round, please.', 'I need a drink.', 'Bottoms up.', 'This whisky is good.', 'Pour me another one.', 'Drink up.'],
    heldOut: ["Here's to {Name}!", "I'll have what he's having.", 'One more for the road.', 'Down in one!', "Drink this, it'll help."],
  },
  run: {
    script: ['Run!', 'Go, go, go!', "Hurry, they're coming!", 'Faster!', "Don't stop running!", 'Come on, move!', "They're right behind us!"],
    heldOut: ['Get out of here, now!', "Keep going, don't look back!", 'Quick, sprint for it!', "Move your legs, we're almost there!", 'Run, {Name}, run!'],
  },
  count: {
    script: ['One, two, three, four...', "It's all here. Every dollar.", 'Five hundred, six hundred...', "We're short by {num}.", 'Count it again.', 'That makes {num}.', 'Ten, eleven, twelve...'],
    heldOut: ['Is it all there?', 'Seven, eight, nine, ten.', 'I make it {num} exactly.', 'Twenty, forty, sixty...', 'Let me count it first.'],
  },
  cook: {
    script: ['Dinner will be ready in ten minutes.', 'Pass me the salt.', 'Needs more garlic.', "Don't let the sauce burn.", 'Who wants pancakes?', 'Taste this.', "The oven's not hot enough.", "I'm cooking tonight."],
    heldOut: ['Hand me that pan.', "It's my grandmother's recipe.", 'Stir it slowly.', 'Chop the onions for me.', 'Who taught you to cook like this?'],
  },
  shoot: {
    script: ['Drop the gun!', 'Freeze!', 'Fire!', 'Take the shot!', "Don't move or I'll shoot!", 'Shoot him!', 'Reload!'],
    heldOut: ['Put your hands where I can see them!', 'Cover me!', "He's got a gun!", 'Open fire!', "Don't shoot!"],
  },
  drive: {
    script: ['Buckle up.', 'Keep your eyes on the road.', 'Take the next exit.', 'Step on it!', 'Where are we going?', 'Turn left at the light.', "We're almost out of gas.", 'Just drive!'],
    heldOut: ['Pull over here.', 'How far to the city?', "Slow down, you'll get us killed!", 'Let me take the wheel.', 'Drive faster!'],
  },
  enter: {
    script: ['Anybody home?', "Sorry I'm late.", 'May I come in?', 'Come in, come in.', 'Knock knock.', "Nice place you've got here.", 'I let myself in.', 'Enter.'],
    heldOut: ['Is this a bad time?', 'Mind if I join you?', 'The door was unlocked.', 'Honey, I\'m home!', 'You may enter now.'],
  },
  fall: {
    script: ['Careful, the floor is wet!', 'Are you okay? Can you get up?', 'Whoa!', 'I slipped.', 'Did you hurt yourself?', "Don't look down.", 'Ow, my leg!', "Don't fall!"],
    heldOut: ['Grab my hand!', 'I think I twisted my ankle.', 'Somebody help him up!', 'Mind the step!', "He's falling!"],
  },
  follow: {
    script: ['Follow me.', 'This way.', 'Stay close behind me.', 'Keep up.', 'Where are you taking me?', "Don't lose sight of him.", 'Is he following us?'],
    heldOut: ['Come with me, quickly.', 'Stay on his tail.', 'Right behind you.', "Don't let him out of your sight.", 'Follow that car!'],
  },
  hit: {
    script: ['Ow!', 'You hit me!', 'Take that!', "That's for my brother!", 'Hit him!', "Don't you ever touch her again!", 'You want some more?'],
    heldOut: ["Is that all you've got?", "That's gonna leave a mark.", 'Stay down!', 'Smash it!', 'Hit him again!'],
  },
  eat: {
    script: ['This is delicious.', 'Eat your vegetables.', "I'm starving.", 'Can you pass the bread?', 'Mm, try this.', "What's for dessert?", "Don't talk with your mouth full."],
    heldOut: ['Save some for me.', 'I could eat a horse.', 'More potatoes, anyone?', 'Seconds, please.', 'Eat, before it gets cold.'],
  },
};

/** Lines said with more than one action: speech alone cannot decide between them. */
export const AMBIGUOUS_LINES: readonly { classes: readonly ActionClass[]; lines: readonly string[] }[] = [
  { classes: ['kiss', 'hug'], lines: ['I love you.', 'I missed you.', 'Come here.', "I'll never leave you.", 'I love you so much.'] },
  { classes: ['run', 'follow'], lines: ['This way, quickly!', 'Come on!', 'Hurry up!'] },
  { classes: ['shoot', 'hit'], lines: ["I'll kill you!", "You're dead!", 'Stop!'] },
  { classes: ['drink', 'eat'], lines: ['Enjoy!', 'Help yourself.', 'Mm, lovely.'] },
  { classes: ['cook', 'eat'], lines: ["Dinner's ready!", 'Smells good.'] },
  { classes: ['open', 'enter'], lines: ['After you.', 'Go on in.'] },
  { classes: ['push', 'hit'], lines: ['Get away from me!', 'Back off!'] },
  { classes: ['point', 'follow'], lines: ['That way!', 'Over here!'] },
  { classes: ['drive', 'run'], lines: ['We have to go. Now!', "Let's get out of here."] },
  { classes: ['phone', 'enter'], lines: ['Hello?', "Hi, it's me."] },
  { classes: ['fall', 'push'], lines: ['Watch out!', 'Look out!'] },
  { classes: ['dance', 'hug'], lines: ['Come here, you.', "Don't let go."] },
  { classes: ['count', 'shoot'], lines: ['On three.', 'Ready?'] },
];

/**
 * A class verb used in another sense: keyword spotting takes these for the action, a model of
 * speech need not (§4.2: "the keyword baseline ... precision errors"). Weights favour the verbs
 * the paper names as polysemous (point, open).
 */
export const POLYSEMOUS_LINES: readonly { verb: ActionClass; weight: number; script: readonly string[]; heldOut: readonly string[] }[] = [
  { verb: 'point', weight: 6, script: ['You missed the point.', "What's the point?", "At this point, I don't care.", 'Point taken.', "That's beside the point.", 'Good point.', "There's no point in arguing."], heldOut: ["I see your point, {Name}.", "That's exactly my point.", 'Get to the point.'] },
  { verb: 'open', weight: 6, script: ["That's an open question.", 'Keep an open mind.', "I'm open to suggestions.", 'The store is open till nine.', "Let's open with the budget.", "The position's still open."], heldOut: ['Are you open on Sundays?', "I'll be open with you, {Name}.", "It's an open secret."] },
  { verb: 'run', weight: 2, script: ['Run the numbers again.', 'He runs the whole company.', "We're running out of time.", 'In the long run, it pays.'], heldOut: ['Who runs this place?', "I'm running late, sorry."] },
  { verb: 'drive', weight: 1, script: ['That drives me crazy.', 'What are you driving at?'], heldOut: ["You're driving me insane."] },
  { verb: 'shoot', weight: 1, script: ['Shoot, I forgot my keys.', 'Go ahead, shoot. What do you want to know?'], heldOut: ['Give it your best shot.'] },
  { verb: 'hit', weight: 1, script: ['That song was a huge hit.', 'It just hit me.', 'They really hit it off.'], heldOut: ["Let's hit the road."] },
  { verb: 'count', weight: 2, script: ['You can count on me.', "That doesn't count.", 'Count me in.'], heldOut: ['I was counting on you, {Name}.'] },
  { verb: 'fall', weight: 1, script: ["Don't fall for it.", 'Her birthday falls on a Tuesday.'], heldOut: ['I think I\'m falling for her.'] },
  { verb: 'follow', weight: 1, script: ["I don't follow.", 'Follow your heart.'], heldOut: ['Do you follow me?'] },
  { verb: 'push', weight: 1, script: ["Don't push your luck.", "Let's push the meeting to Friday."], heldOut: ['Stop pushing me to decide.'] },
  { verb: 'cook', weight: 1, script: ['They cooked the books.'], heldOut: ["What's cooking, {Name}?"] },
  { verb: 'enter', weight: 1, script: ['Enter your password.'], heldOut: ["I'll enter the contest next year."] },
  { verb: 'eat', weight: 1, script: ["What's eating you?"], heldOut: ["You'll eat your words."] },
  { verb: 'dance', weight: 1, script: ['Stop dancing around the issue.'], heldOut: [] },
  { verb: 'kiss', weight: 1, script: ['Kiss that money goodbye.'], heldOut: [] },
];

/** Lines unrelated to any action (most of what is said in a film). */
export const GENERIC_LINES: LineBank = {
  script: [
    "I don't know.", 'What do you mean?', 'We need to talk.', 'Where were you last night?', "That's not what I said.",
    'Fine.', "I'll think about it.", 'You should get some rest.', 'What time is it?', 'Tell me about {Name}.',
    "I can't do this anymore.", 'Why would he say that?', 'It was a long time ago.', 'Are you sure?', 'Yes.', 'No.',
    "I'm sorry.", 'Thank you.', 'How was work?', "It doesn't matter.", 'She never told me.', 'What happened to {Name}?',
    'I grew up in {place}.', "We'll talk tomorrow.", 'Nobody knows about this.', 'You were right.', "I'm fine, really.",
    "That's ridiculous.", 'How long have you known?', "Let's not do this.", 'Do you remember {place}?', 'Maybe.',
    'It was {num} years ago.', "You don't understand.", "I'm not hungry for an argument.", 'What did the doctor say?',
  ],
  heldOut: [
    'Really?', "I'll be back in {num} minutes.", 'How did it go?', "I don't want to talk about it.", "He's not coming.",
    'Since when?', 'Whatever you say.', 'Did you sleep well?', 'Is that so?', 'Tell me the truth.',
    "We've been through this.", "I'm moving to {place}.", 'What are you doing here?', 'Never mind.',
  ],
};

export const NAMES: readonly string[] = [
  'John', 'Mary', 'Sam', 'Kate', 'Frank', 'Ellen', 'Walter', 'Grace', 'Eddie', 'Nora', 'Victor', 'Lucy', 'Harry', 'Rose',
  'Tony', 'Claire', 'Max', 'Julia', 'Leo', 'Diane', 'Carl', 'Irene', 'Jake', 'Vera', 'Marcus', 'Helen', 'Ray', 'Anna',
];
export const PLACES: readonly string[] = ['Boston', 'Chicago', 'the farm', 'Paris', 'the old house', 'Denver', 'the lake', 'Reno'];
